/* placeholder: filled in by the module owner */
#ifndef SVC_PATCH_H
#define SVC_PATCH_H
#endif
