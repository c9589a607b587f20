/* placeholder: filled in by the module owner */
#ifndef SVC_SKIPLIST_H
#define SVC_SKIPLIST_H
#endif
