/* placeholder: filled in by the module owner */
#ifndef SVC_VALIDATE_H
#define SVC_VALIDATE_H
#endif
