/* placeholder: filled in by the module owner */
#ifndef SVC_SCHEMA_H
#define SVC_SCHEMA_H
#endif
