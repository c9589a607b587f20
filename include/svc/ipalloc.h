/* placeholder: filled in by the module owner */
#ifndef SVC_IPALLOC_H
#define SVC_IPALLOC_H
#endif
