/* placeholder: filled in by the module owner */
typedef int svc_placeholder_config;
