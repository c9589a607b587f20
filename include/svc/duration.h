/* placeholder: filled in by the module owner */
#ifndef SVC_DURATION_H
#define SVC_DURATION_H
#endif
