/* placeholder: filled in by the module owner */
#ifndef SVC_REGISTRY_H
#define SVC_REGISTRY_H
#endif
