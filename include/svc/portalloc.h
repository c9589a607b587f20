/* placeholder: filled in by the module owner */
#ifndef SVC_PORTALLOC_H
#define SVC_PORTALLOC_H
#endif
