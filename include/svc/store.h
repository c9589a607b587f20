/* placeholder: filled in by the module owner */
#ifndef SVC_STORE_H
#define SVC_STORE_H
#endif
