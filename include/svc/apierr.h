/* placeholder: filled in by the module owner */
#ifndef SVC_APIERR_H
#define SVC_APIERR_H
#endif
