/* placeholder: filled in by the module owner */
#ifndef SVC_PRINTERS_H
#define SVC_PRINTERS_H
#endif
