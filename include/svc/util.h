/* placeholder: filled in by the module owner */
#ifndef SVC_UTIL_H
#define SVC_UTIL_H
#endif
