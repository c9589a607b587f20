/* placeholder: filled in by the module owner */
#ifndef SVC_YAML_H
#define SVC_YAML_H
#endif
