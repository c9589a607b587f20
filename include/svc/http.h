/* placeholder: filled in by the module owner */
#ifndef SVC_HTTP_H
#define SVC_HTTP_H
#endif
