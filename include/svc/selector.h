/* placeholder: filled in by the module owner */
#ifndef SVC_SELECTOR_H
#define SVC_SELECTOR_H
#endif
