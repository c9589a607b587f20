/* placeholder: filled in by the module owner */
#ifndef SVC_PROTOBUF_H
#define SVC_PROTOBUF_H
#endif
