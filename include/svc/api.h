/* placeholder: filled in by the module owner */
#ifndef SVC_API_H
#define SVC_API_H
#endif
