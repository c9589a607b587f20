/* placeholder: filled in by the module owner */
#ifndef SVC_CONFIG_H
#define SVC_CONFIG_H
#endif
