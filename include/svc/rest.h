/* placeholder: filled in by the module owner */
#ifndef SVC_REST_H
#define SVC_REST_H
#endif
