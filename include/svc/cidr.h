/* placeholder: filled in by the module owner */
#ifndef SVC_CIDR_H
#define SVC_CIDR_H
#endif
