/*
 * TEMPORARY STUB written by the lead so the tree links while the Service validator is being
 * written: the engineer who owns this file replaces it entirely.
 */
#include "svc/validate_service.h"

#include "svc/field_error.h"
#include "svc/validate.h"

#include <jansson.h>

void validate_service(struct field_errors *errs, const json_t *svc)
{
    validate_object_meta(errs, "metadata", json_object_get(svc, "metadata"), true,
                         validate_name_is_dns1035_label);
}

void validate_service_update(struct field_errors *errs, const json_t *svc, const json_t *old)
{
    validate_object_meta_update(errs, "metadata", json_object_get(svc, "metadata"),
                                json_object_get(old, "metadata"));
    validate_service(errs, svc);
}

void validate_service_status_update(struct field_errors *errs, const json_t *svc,
                                    const json_t *old)
{
    (void)errs;
    (void)svc;
    (void)old;
}

void validate_service_cluster_ip_fields(struct field_errors *errs, const json_t *svc,
                                        const json_t *old)
{
    (void)errs;
    (void)svc;
    (void)old;
}
