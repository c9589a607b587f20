wrk.headers["Accept"] = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
