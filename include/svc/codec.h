/* placeholder: filled in by the module owner */
#ifndef SVC_CODEC_H
#define SVC_CODEC_H
#endif
