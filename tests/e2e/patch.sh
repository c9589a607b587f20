#!/usr/bin/env bash
# PATCH, server-side apply and dry run with curl (issue 6), every answer compared with what
# kube-apiserver 1.33 gives (apiserver v0.33 pkg/endpoints/handlers/patch.go, installer.go and
# go-restful v3.11 jsr311.go for the routing 415; apimachinery v0.33 util/strategicpatch,
# api/errors, apis/meta/v1/validation; evanphx/json-patch v4; service-semantics.md §3.4, §4.4,
# §8.3):
#   - each patch type on Services and Endpoints, the whole object compared (managedFields aside:
#     their bookkeeping has its own tests): merge patch (RFC 7386), every JSON-patch operation,
#     strategic merge with merge keys, element order and the directives;
#   - a failing `test`, a bad path, an unknown op: 422 "the server rejected our request ..." with
#     empty details; malformed bodies: the 400s of the decoders; Content-Types the PATCH route
#     does not consume: go-restful's 415 (which comes before the route's Warning header);
#   - a patch whose result is invalid gets the Status a PUT of that result gets;
#   - patches that change nothing keep the resourceVersion and make no watch event, and neither
#     do dryRun=All writes;
#   - dryRun=All on create, update, patch, delete and deletecollection answers as the real write
#     would (ClusterIP = the network address, nodePorts 32769 on) and leaves the allocator gauges
#     and the store's resourceVersion alone;
#   - the patched object must keep the URL's name and namespace; a resourceVersion in a patch
#     is a precondition (409); the creation time cannot be patched;
#   - fieldValidation: unknown fields as Warning headers by default (in upstream's order), the
#     Strict 422 quoting the patched document (JSON, merge) or the patch (strategic), Ignore;
#   - PatchOptions: fieldManager required for apply, force only for apply, dryRun and
#     fieldValidation values;
#   - apply creates (201), re-applies without a change, refuses another kind or version and
#     managedFields in the configuration, and conflicts between managers are upstream's 409.
# A case that finds several differences reports each of them (soft checks) before it fails.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/helpers.sh"

start_server
P=$DATA/e2e/patch
NS="patch"
SVC=/api/v1/namespaces/$NS/services
EP=/api/v1/namespaces/$NS/endpoints
MP=application/merge-patch+json
JP=application/json-patch+json
SP=application/strategic-merge-patch+json
AP=application/apply-patch+yaml
req POST /api/v1/namespaces "{\"metadata\":{\"name\":\"$NS\"}}"
expect_status 201 "namespace $NS"

# ---- helpers ------------------------------------------------------------------------------

# from_template FILE NAME: the file with @NAME@ replaced
from_template() { sed "s/@NAME@/$2/g" "$1"; }

mksvc() { # mksvc NAME [TEMPLATE]: create a Service from a template, 201 required
    req POST "$SVC" "$(from_template "${2:-$P/svc-base.json}" "$1")"
    expect_status 201 "create service $1"
}

mkep() {
    req POST "$EP" "$(from_template "$P/ep-base.json" "$1")"
    expect_status 201 "create endpoints $1"
}

# expect_object FILE: the last body equals FILE (jsonq placeholders), metadata.managedFields
# left out of the comparison
expect_object() {
    $PY -S - "$BODY_FILE" "$WORK/stripped.json" <<'EOF' || fail "the answer is not a JSON object"
import json, sys
from collections import OrderedDict
b = json.load(open(sys.argv[1]), object_pairs_hook=OrderedDict)
b.get("metadata", {}).pop("managedFields", None)
json.dump(b, open(sys.argv[2], "w"))
EOF
    $JSONQ match "$WORK/stripped.json" "$1" || fail "body does not match $1"
}

# soft CMD...: run a check in a subshell; a failure is reported and remembered, and the case
# goes on so that every difference of the case shows (check_soft then fails the case)
soft() { ( "$@" ) || touch "$WORK/soft-failed"; }
check_soft() { [ ! -e "$WORK/soft-failed" ] || { rm -f "$WORK/soft-failed"; fail "${1:-see above}"; }; }

# keep NAME / kept NAME: remember a value of the last body / read it back
keep() { jq_get "$2" >"$WORK/kept.$1"; }
kept() { cat "$WORK/kept.$1"; }

gauge() { # gauge NAME: the value of a /metrics gauge (summed over labels)
    curl -s "$URL/metrics" | awk -v n="$1" '$1 ~ "^"n"([{]|$)" {s += $2} END {print s + 0}'
}

gauges() {
    echo "$(gauge kube_apiserver_clusterip_allocator_allocated_ips)" \
        "$(gauge kube_apiserver_nodeport_allocator_allocated_ports)"
}

list_rv() { # the store's resourceVersion, as a list reports it
    curl -s "$URL/api/v1/namespaces/$NS/services?limit=1" |
        $PY -S -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["resourceVersion"])'
}

patch() { req PATCH "$1" "$2" "$3"; } # patch PATH BODY CONTENT_TYPE

# the 422 a JSON patch that cannot be applied gets (NewGenericServerResponse(422, ...)): the
# patch library's own words are not passed on, and details is present but empty
expect_json_patch_422() {
    expect_failure 422 Invalid "the server rejected our request due to an error in our request" '{}'
}

# the object as a PUT body: the last answer with the edit applied (a Python statement on `o`)
put_body_from_last() {
    $PY -S - "$BODY_FILE" "$1" <<'EOF'
import json, sys
from collections import OrderedDict
o = json.load(open(sys.argv[1]), object_pairs_hook=OrderedDict)
o["metadata"].pop("managedFields", None)
exec(sys.argv[2])
print(json.dumps(o))
EOF
}

no_warning() { [ -z "$(header Warning)" ] || fail "unexpected Warning: $(header Warning)"; }

# ---- Content-Type -------------------------------------------------------------------------

# The PATCH route consumes only the four patch types: go-restful refuses any other type of a
# request with a body before the handler runs, with its own "415: Unsupported Media Type" (as
# a Status through the apiserver's ServiceErrorHandler, empty details), so the route's
# deprecation Warning for Endpoints is not sent either.
t_unsupported_media_type() {
    mksvc umt
    mkep umtep
    snapshot "$WORK/before"
    local ct
    for ct in application/json text/plain application/yaml application/apply-patch+json \
        Application/Merge-Patch+JSON; do
        patch "$SVC/umt" '{"metadata":{"labels":{"x":"y"}}}' "$ct"
        soft expect_failure 415 UnsupportedMediaType "415: Unsupported Media Type" '{}'
    done
    patch "$EP/umtep" '{"metadata":{"labels":{"x":"y"}}}' application/json
    soft expect_failure 415 UnsupportedMediaType "415: Unsupported Media Type" '{}'
    soft no_warning
    soft expect_unchanged "$WORK/before" "refused patches"
    # parameters after the media type are ignored
    patch "$SVC/umt" '{"metadata":{"labels":{"x":"y"}}}' "$MP; charset=utf-8"
    expect_status 200 "merge patch with a charset"
    jq_is .metadata.labels '{"app":"web","tier":"fe","x":"y"}'
    check_soft "a refused Content-Type is not answered as upstream answers it"
}

# ---- each patch type ----------------------------------------------------------------------

t_merge_patch_service() {
    mksvc mp
    keep ip .spec.clusterIP
    keep rv .metadata.resourceVersion
    patch "$SVC/mp" '{"metadata":{"labels":{"tier":null,"env":"prod"},"annotations":{"note":"b"}},"spec":{"ports":[{"name":"http","port":8080}],"selector":{"version":"v2"}}}' $MP
    expect_status 200 "merge patch"
    expect_object "$P/merge-svc.json"
    jq_is .spec.clusterIPs "[\"$(kept ip)\"]"
    [ "$(jq_get .metadata.resourceVersion)" -gt "$(kept rv)" ] || fail "the resourceVersion did not move"
    req GET "$SVC/mp"
    expect_object "$P/merge-svc.json"
}

t_strategic_merge_service() {
    mksvc smpa
    keep ip .spec.clusterIP
    # ports merge on `port`; a null deletes a label; the new port goes after the patched ones
    patch "$SVC/smpa" '{"metadata":{"labels":{"tier":null,"env":"prod"}},"spec":{"ports":[{"port":443,"targetPort":9443},{"name":"metrics","port":9100}]}}' $SP
    expect_status 200 "strategic merge"
    expect_object "$P/smp-merge-keys.json"
    jq_is .spec.clusterIPs "[\"$(kept ip)\"]"
    # a patch holding only a new element: the merged list puts the patch's elements before
    # the server-only ones (mergeSortedSlice cannot place the new key in the live order)
    mksvc smpn
    patch "$SVC/smpn" '{"spec":{"ports":[{"name":"metrics","port":9100}]}}' $SP
    expect_status 200 "strategic merge, new element only"
    expect_object "$P/smp-new-first.json"
    req GET "$SVC/smpn"
    expect_object "$P/smp-new-first.json"
    # the merge key is `port` alone (patchMergeKey), not port and protocol: a UDP port with
    # the number of a TCP one merges into it instead of joining it
    req POST "$SVC" '{"metadata":{"name":"smpq"},"spec":{"selector":{"app":"dns"},"ports":[{"name":"dns-tcp","port":53}]}}'
    expect_status 201 "create smpq"
    patch "$SVC/smpq" '{"spec":{"ports":[{"name":"dns-udp","port":53,"protocol":"UDP"}]}}' $SP
    expect_status 200 "strategic merge on the port number"
    jq_is .spec.ports '[{"name":"dns-udp","protocol":"UDP","port":53,"targetPort":53}]'
}

t_strategic_directives() {
    mksvc smpd "$P/svc-three-ports.json"
    patch "$SVC/smpd" '{"metadata":{"$deleteFromPrimitiveList/finalizers":["example.com/a"],"annotations":{"$patch":"delete"},"labels":{"$retainKeys":["app"]}},"spec":{"$setElementOrder/ports":[{"port":443},{"port":80}],"ports":[{"$patch":"delete","port":9100}],"selector":{"$patch":"replace","app":"web"}}}' $SP
    expect_status 200 "strategic merge directives"
    expect_object "$P/smp-directives.json"
    req GET "$SVC/smpd"
    expect_object "$P/smp-directives.json"
    # finalizers merge as a set of primitives: the new one first, no duplicate
    patch "$SVC/smpd" '{"metadata":{"finalizers":["example.com/c","example.com/b"]}}' $SP
    expect_status 200 "finalizers merged"
    jq_is .metadata.finalizers '["example.com/c","example.com/b"]'
    patch "$SVC/smpd" '{"metadata":{"finalizers":["example.com/d"]}}' $SP
    expect_status 200 "finalizer added"
    jq_is .metadata.finalizers '["example.com/d","example.com/c","example.com/b"]'
    patch "$SVC/smpd" '{"metadata":{"$deleteFromPrimitiveList/finalizers":["example.com/b","example.com/c","example.com/d"]}}' $SP
    expect_status 200 "finalizers removed"
    [ "$(pyq '"finalizers" in b["metadata"]')" = false ] || fail "finalizers left: $(jq_get .metadata)"
    # $patch: replace in a list replaces the whole list
    mksvc smpr
    patch "$SVC/smpr" '{"spec":{"ports":[{"name":"only","port":8000},{"$patch":"replace"}]}}' $SP
    expect_status 200 "list replaced"
    expect_object "$P/smp-replace-list.json"
}

# Strategic-merge errors that are plain Go errors, not Status errors: the apiserver renders them
# as a 500 with no reason (ErrorToAPIStatus), the library's words as the message.
t_strategic_merge_errors() {
    mksvc smperr
    snapshot "$WORK/before"
    patch "$SVC/smperr" '{"spec":{"ports":[{"targetPort":9090}]}}' $SP
    expect_failure 500 "" "map: map[targetPort:9090] does not contain declared merge key: port"
    patch "$SVC/smperr" '{"spec":{"ports":[{"port":80,"targetPort":9090},{"$patch":"merge"}]}}' $SP
    expect_failure 500 "" "merging lists cannot yet be specified in the patch"
    patch "$SVC/smperr" '{"metadata":{"labels":{"$patch":"frob","a":"b"}}}' $SP
    expect_failure 500 "" 'unknown patch type: frob in map: map[$patch:frob a:b]'
    expect_unchanged "$WORK/before" "refused strategic merge patches"
}

t_json_patch_every_op() {
    mksvc jp
    keep ip .spec.clusterIP
    patch "$SVC/jp" '[{"op":"test","path":"/spec/ports/0/name","value":"http"},{"op":"add","path":"/metadata/labels/added","value":"yes"},{"op":"remove","path":"/metadata/labels/tier"},{"op":"replace","path":"/spec/ports/0/targetPort","value":"web"},{"op":"copy","from":"/metadata/labels/app","path":"/metadata/annotations/copied"},{"op":"move","from":"/metadata/annotations/note","path":"/metadata/annotations/moved"},{"op":"add","path":"/spec/ports/1","value":{"name":"dns","port":53,"protocol":"UDP"}},{"op":"remove","path":"/spec/ports/2"}]' $JP
    expect_status 200 "json patch"
    expect_object "$P/json-all-ops.json"
    jq_is .spec.clusterIPs "[\"$(kept ip)\"]"
    req GET "$SVC/jp"
    expect_object "$P/json-all-ops.json"
}

t_json_patch_failures() {
    mksvc jf
    mkep jfep
    snapshot "$WORK/before"
    patch "$SVC/jf" '[{"op":"test","path":"/spec/ports/0/port","value":81},{"op":"add","path":"/metadata/labels/x","value":"y"}]' $JP
    expect_json_patch_422
    patch "$SVC/jf" '[{"op":"remove","path":"/metadata/labels/missing"}]' $JP
    expect_json_patch_422
    patch "$SVC/jf" '[{"op":"add","path":"/spec/nothere/x","value":1}]' $JP
    expect_json_patch_422
    patch "$SVC/jf" '[{"op":"replace","path":"/spec/ports/7/port","value":1}]' $JP
    expect_json_patch_422
    patch "$SVC/jf" '[{"op":"move","from":"/metadata/nope","path":"/metadata/labels/y"}]' $JP
    expect_json_patch_422
    patch "$SVC/jf" '[{"op":"frobnicate","path":"/metadata/labels/x","value":"y"}]' $JP
    expect_json_patch_422
    patch "$EP/jfep" '[{"op":"test","path":"/subsets/0/addresses/0/ip","value":"192.0.2.99"}]' $JP
    expect_json_patch_422
    # the body must be a list of operations: the strict decode of the default Warn validation
    # runs first (handlers.jsonPatchOp)
    patch "$SVC/jf" '{"op":"add","path":"/metadata/labels/x","value":"y"}' $JP
    expect_failure 400 BadRequest "error decoding patch: json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp"
    patch "$SVC/jf" '[{"op":"add",' $JP
    expect_failure 400 BadRequest "error decoding patch: unexpected end of JSON input"
    patch "$SVC/jf" '{"metadata":' $MP
    expect_failure 400 BadRequest "error decoding patch: unexpected end of JSON input"
    patch "$SVC/jf" '{"metadata":' $SP
    expect_failure 400 BadRequest "unexpected end of JSON input"
    expect_unchanged "$WORK/before" "failed patches"
}

t_patch_missing_object() {
    local ct
    for ct in $MP $JP $SP; do
        if [ $ct = $JP ]; then
            patch "$SVC/nope" '[{"op":"add","path":"/metadata/labels","value":{"a":"b"}}]' $ct
        else
            patch "$SVC/nope" '{"metadata":{"labels":{"a":"b"}}}' $ct
        fi
        expect_failure 404 NotFound 'services "nope" not found' '{"name":"nope","kind":"services"}'
    done
    patch "$EP/nope" '{"metadata":{"labels":{"a":"b"}}}' $MP
    expect_failure 404 NotFound 'endpoints "nope" not found' '{"name":"nope","kind":"endpoints"}'
}

t_endpoints_patches() {
    mkep epm
    patch "$EP/epm" '{"metadata":{"labels":{"role":"db"}},"subsets":[{"addresses":[{"ip":"192.0.2.2"},{"ip":"192.0.2.3"}],"ports":[{"name":"http","port":8080}]}]}' $MP
    expect_status 200 "endpoints merge patch"
    expect_object "$P/ep-merge.json"
    expect_header Warning '299 - "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"'
    # subsets carry no merge key: a strategic merge patch replaces them whole
    mkep eps
    patch "$EP/eps" '{"metadata":{"labels":{"svc":null}},"subsets":[{"addresses":[{"ip":"192.0.2.9"}],"notReadyAddresses":[{"ip":"192.0.2.10"}],"ports":[{"port":5432}]}]}' $SP
    expect_status 200 "endpoints strategic merge patch"
    expect_object "$P/ep-smp.json"
    mkep epj
    patch "$EP/epj" '[{"op":"add","path":"/subsets/0/addresses/-","value":{"ip":"192.0.2.4","hostname":"db-1"}},{"op":"replace","path":"/subsets/0/ports/0/name","value":"web"},{"op":"add","path":"/metadata/annotations","value":{"owner":"me"}}]' $JP
    expect_status 200 "endpoints json patch"
    expect_object "$P/ep-json.json"
    req GET "$EP/epj"
    expect_object "$P/ep-json.json"
}

# ---- fieldValidation ----------------------------------------------------------------------

# warnings_are TEXT...: the Warning headers of the last answer, in order
warnings_are() {
    local got want
    got=$(header Warning)
    want=$(for w in "$@"; do printf '299 - "%s"\n' "$(printf '%s' "$w" | sed 's/["\\]/\\&/g')"; done)
    [ "$got" = "$want" ] || fail "Warning headers: [$got], wanted [$want]"
}

# expect_strict_json FILE FIELD: the last answer is the 422 of fieldValidation=Strict for a JSON
# or merge patch that added spec.FIELD to the object in FILE. The message quotes the patched
# document as the patch library wrote it: encoding/json over Go maps, so the top level and every
# object the patch went into (here spec) have sorted keys; the untouched parts keep the server's
# order.
expect_strict_json() {
    $PY -S - "$1" "$2" "$WORK/strict" <<'PYEOF'
import json, sys
from collections import OrderedDict as O
o = json.load(open(sys.argv[1]), object_pairs_hook=O)
spec = O(sorted(list(o["spec"].items()) + [(sys.argv[2], 1)]))
doc = O(sorted((k, spec if k == "spec" else v) for k, v in o.items()))
value = json.dumps(json.dumps(doc, separators=(",", ":")))
detail = 'strict decoding error: unknown field "spec.%s"' % sys.argv[2]
open(sys.argv[3] + ".message", "w").write(' "" is invalid: patch: Invalid value: %s: %s' % (value, detail))
open(sys.argv[3] + ".details", "w").write(json.dumps({"causes": [{
    "reason": "FieldValueInvalid", "message": "Invalid value: %s: %s" % (value, detail),
    "field": "patch"}]}))
PYEOF
    expect_failure 422 Invalid "$(cat "$WORK/strict.message")" "$(cat "$WORK/strict.details")"
}

# Patches are decoded with fieldValidation=Warn unless asked otherwise: unknown fields become
# Warning headers (JSON and merge patches in the order the patched document lists them,
# strategic merge patches sorted) and are dropped, so here nothing changes.
t_field_validation_warn() {
    req POST "$SVC" '{"metadata":{"name":"fv"},"spec":{"selector":{"app":"fv"},"ports":[{"port":80}]}}'
    expect_status 201 "create fv"
    req GET "$SVC/fv"
    cp "$BODY_FILE" "$WORK/fv.json"
    patch "$SVC/fv" '{"spec":{"ports":[{"port":80,"nope":2}],"bogus":1}}' $MP
    expect_status 200 "merge patch with unknown fields"
    soft warnings_are 'unknown field "spec.bogus"' 'unknown field "spec.ports[0].nope"'
    cmp -s "$BODY_FILE" "$WORK/fv.json" || fail "unknown fields changed the object"
    patch "$SVC/fv" '{"spec":{"zzz":1,"ports":[{"port":80,"nope":2}]}}' $MP
    expect_status 200 "merge patch with unknown fields"
    soft warnings_are 'unknown field "spec.ports[0].nope"' 'unknown field "spec.zzz"'
    patch "$SVC/fv" '{"spec":{"zzz":1,"ports":[{"port":80,"nope":2}],"bogus":1}}' $SP
    expect_status 200 "strategic merge patch with unknown fields"
    soft warnings_are 'unknown field "spec.bogus"' 'unknown field "spec.ports[0].nope"' 'unknown field "spec.zzz"'
    cmp -s "$BODY_FILE" "$WORK/fv.json" || fail "unknown fields changed the object"
    patch "$SVC/fv" '[{"op":"add","path":"/spec/ports/0/nope","value":2},{"op":"add","path":"/spec/bogus","value":1}]' $JP
    expect_status 200 "json patch with unknown fields"
    soft warnings_are 'unknown field "spec.bogus"' 'unknown field "spec.ports[0].nope"'
    cmp -s "$BODY_FILE" "$WORK/fv.json" || fail "unknown fields changed the object"
    check_soft "the Warning headers differ"
}

t_field_validation_strict() {
    req POST "$SVC" '{"metadata":{"name":"fvs"},"spec":{"selector":{"app":"fv"},"ports":[{"port":80}]}}'
    expect_status 201 "create fvs"
    req GET "$SVC/fvs"
    cp "$BODY_FILE" "$WORK/fv.json"
    patch "$SVC/fvs?fieldValidation=Ignore" '{"spec":{"bogus":1}}' $MP
    expect_status 200 "Ignore"
    no_warning
    # Strict: the 422 of a field named "patch"
    patch "$SVC/fvs?fieldValidation=Strict" '{"spec":{"bogus":1}}' $MP
    soft expect_strict_json "$WORK/fv.json" bogus
    patch "$SVC/fvs?fieldValidation=Strict" '[{"op":"add","path":"/spec/zzz","value":1}]' $JP
    soft expect_strict_json "$WORK/fv.json" zzz
    # a strategic merge patch quotes the patch itself, as Go prints a map
    patch "$SVC/fvs?fieldValidation=Strict" '{"spec":{"bogus":1}}' $SP
    expect_failure 422 Invalid ' "" is invalid: patch: Invalid value: "map[spec:map[bogus:1]]": strict decoding error: unknown field "spec.bogus"' \
        '{"causes":[{"reason":"FieldValueInvalid","message":"Invalid value: \"map[spec:map[bogus:1]]\": strict decoding error: unknown field \"spec.bogus\"","field":"patch"}]}'
    patch "$SVC/fvs?fieldValidation=Foo" '{"spec":{"bogus":1}}' $MP
    expect_failure 422 Invalid 'PatchOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "Foo": supported values: "", "Ignore", "Strict", "Warn"' \
        '{"group":"meta.k8s.io","kind":"PatchOptions","causes":[{"reason":"FieldValueNotSupported","message":"Unsupported value: \"Foo\": supported values: \"\", \"Ignore\", \"Strict\", \"Warn\"","field":"fieldValidation"}]}'
    req GET "$SVC/fvs"
    cmp -s "$BODY_FILE" "$WORK/fv.json" || fail "the object changed"
    check_soft "a Strict answer differs"
}

# ---- identity and optimistic concurrency ----------------------------------------------------

# The patched object is checked against the URL (patch.go applyPatch: namespace first, then
# checkName), and a resourceVersion in it is a precondition of the update (store.Update).
t_patch_identity() {
    mksvc idn
    keep rv .metadata.resourceVersion
    keep ts .metadata.creationTimestamp
    snapshot "$WORK/before"
    patch "$SVC/idn" '{"metadata":{"name":"other"}}' $MP
    expect_failure 400 BadRequest "the name of the object (other) does not match the name on the URL (idn)"
    patch "$SVC/idn" '[{"op":"replace","path":"/metadata/namespace","value":"default"}]' $JP
    expect_failure 400 BadRequest "the namespace of the provided object does not match the namespace sent on the request"
    patch "$SVC/idn?fieldManager=tester" '{"apiVersion":"v1","kind":"Service","metadata":{"name":"other"},"spec":{"ports":[{"port":80}]}}' $AP
    expect_failure 400 BadRequest "the name of the object (other) does not match the name on the URL (idn)"
    patch "$SVC/idn" '{"metadata":{"resourceVersion":"1","labels":{"x":"y"}}}' $MP
    expect_failure 409 Conflict 'Operation cannot be fulfilled on services "idn": the object has been modified; please apply your changes to the latest version and try again' \
        '{"name":"idn","kind":"services"}'
    # the creation time cannot be changed: restored, so nothing changes
    patch "$SVC/idn" '{"metadata":{"creationTimestamp":"2001-02-03T04:05:06Z"}}' $MP
    expect_status 200 "creationTimestamp patch"
    jq_is .metadata.creationTimestamp "\"$(kept ts)\""
    jq_is .metadata.resourceVersion "\"$(kept rv)\""
    expect_unchanged "$WORK/before" "refused patches"
    # the current version as a precondition: merge patch and a JSON-patch test
    patch "$SVC/idn" "{\"metadata\":{\"resourceVersion\":\"$(kept rv)\",\"labels\":{\"x\":\"y\"}}}" $MP
    expect_status 200 "patch with the current resourceVersion"
    jq_is .metadata.labels '{"app":"web","tier":"fe","x":"y"}'
    keep rv2 .metadata.resourceVersion
    patch "$SVC/idn" "[{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":\"$(kept rv2)\"},{\"op\":\"remove\",\"path\":\"/metadata/labels/x\"}]" $JP
    expect_status 200 "json patch guarded by a test of the resourceVersion"
    jq_is .metadata.labels '{"app":"web","tier":"fe"}'
    patch "$SVC/idn" "[{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":\"$(kept rv2)\"},{\"op\":\"remove\",\"path\":\"/metadata/labels/tier\"}]" $JP
    expect_json_patch_422
}

# ---- invalid results ----------------------------------------------------------------------

# check_like_put PATH EDIT CODE REASON MESSAGE DETAILS: the last answer was the refusal of a
# patch of PATH; a PUT of the object the patch would have made (EDIT, a Python statement on
# `o`, applied to a fresh GET) gets the same Status
check_like_put() {
    local ppath=$1 edit=$2 code=$3 reason=$4 msg=$5 details=$6
    expect_failure "$code" "$reason" "$msg" "$details"
    req GET "$ppath"
    expect_status 200 "GET before the PUT"
    req PUT "$ppath" "$(put_body_from_last "$edit")"
    expect_failure "$code" "$reason" "$msg" "$details"
}

t_invalid_result_like_put() {
    mksvc inv
    mkep epinv
    snapshot "$WORK/before"
    local g0
    g0=$(gauges)
    patch "$SVC/inv" '{"spec":{"ports":[{"port":80},{"port":81}]}}' $MP
    check_like_put "$SVC/inv" 'o["spec"]["ports"] = [{"port": 80}, {"port": 81}]' 422 Invalid \
        'Service "inv" is invalid: [spec.ports[0].name: Required value, spec.ports[1].name: Required value]' \
        '{"name":"inv","kind":"Service","causes":[{"reason":"FieldValueRequired","message":"Required value","field":"spec.ports[0].name"},{"reason":"FieldValueRequired","message":"Required value","field":"spec.ports[1].name"}]}'
    patch "$SVC/inv" '[{"op":"replace","path":"/spec/sessionAffinity","value":"Sticky"}]' $JP
    check_like_put "$SVC/inv" 'o["spec"]["sessionAffinity"] = "Sticky"' 422 Invalid \
        'Service "inv" is invalid: spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None"' \
        '{"name":"inv","kind":"Service","causes":[{"reason":"FieldValueNotSupported","message":"Unsupported value: \"Sticky\": supported values: \"ClientIP\", \"None\"","field":"spec.sessionAffinity"}]}'
    patch "$SVC/inv" '{"spec":{"ports":[{"port":80,"protocol":"HTTP"}]}}' $SP
    check_like_put "$SVC/inv" 'o["spec"]["ports"][0]["protocol"] = "HTTP"' 422 Invalid \
        'Service "inv" is invalid: spec.ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"' \
        '{"name":"inv","kind":"Service","causes":[{"reason":"FieldValueNotSupported","message":"Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"","field":"spec.ports[0].protocol"}]}'
    # allocation runs before validation on update too
    patch "$SVC/inv" '{"spec":{"type":"NodePort","ports":[{"port":80,"nodePort":80}]}}' $SP
    check_like_put "$SVC/inv" 'o["spec"]["type"] = "NodePort"; o["spec"]["ports"][0]["nodePort"] = 80' 422 Invalid \
        'Service "inv" is invalid: spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767' \
        '{"name":"inv","kind":"Service","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767","field":"spec.ports[0].nodePort"}]}'
    patch "$EP/epinv" '{"subsets":[{"addresses":[{"ip":"192.0.2.1"}],"ports":[{"name":"http","port":0}]}]}' $MP
    check_like_put "$EP/epinv" 'o["subsets"][0]["ports"][0]["port"] = 0' 422 Invalid \
        'Endpoints "epinv" is invalid: subsets[0].ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive' \
        '{"name":"epinv","kind":"Endpoints","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: 0: must be between 1 and 65535, inclusive","field":"subsets[0].ports[0].port"}]}'
    expect_unchanged "$WORK/before" "refused patches and PUTs"
    [ "$(gauges)" = "$g0" ] || fail "a refused write changed the allocator gauges: $g0 -> $(gauges)"
}

# ---- status subresource -------------------------------------------------------------------

t_status_subresource() {
    mksvc st
    # the status strategy keeps the stored spec: the ingress is judged against ClusterIP
    patch "$SVC/st/status" '{"spec":{"type":"LoadBalancer"},"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.10"}]}}}' $MP
    expect_failure 422 Invalid \
        'Service "st" is invalid: status.loadBalancer.ingress: Forbidden: may only be used when `spec.type` is '"'LoadBalancer'" \
        '{"name":"st","kind":"Service","causes":[{"reason":"FieldValueForbidden","message":"Forbidden: may only be used when `spec.type` is '"'LoadBalancer'"'","field":"status.loadBalancer.ingress"}]}'
    req POST "$SVC" '{"metadata":{"name":"stlb"},"spec":{"type":"LoadBalancer","ports":[{"port":80}]}}'
    expect_status 201
    # the patched object is defaulted before the stored spec is put back: with a spec that is
    # not LoadBalancer in the patch, the ingress gets no default ipMode
    patch "$SVC/stlb/status" '{"spec":{"type":"NodePort"},"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.10"}]}}}' $MP
    expect_failure 422 Invalid \
        'Service "stlb" is invalid: status.loadBalancer.ingress[0].ipMode: Required value: must be specified when `ip` is set' \
        '{"name":"stlb","kind":"Service","causes":[{"reason":"FieldValueRequired","message":"Required value: must be specified when `ip` is set","field":"status.loadBalancer.ingress[0].ipMode"}]}'
    # a spec in a status patch is ignored
    patch "$SVC/stlb/status" '{"spec":{"sessionAffinity":"ClientIP"},"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.10"}]}}}' $MP
    expect_status 200 "status patch"
    expect_object "$P/status-lb.json"
    keep rv .metadata.resourceVersion
    patch "$SVC/stlb/status" '{"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.10"}]}}}' $MP
    expect_status 200 "status patch again"
    jq_is .metadata.resourceVersion "\"$(kept rv)\""
    req GET "$SVC/stlb"
    expect_object "$P/status-lb.json"
}

# ---- no-op patches and dry runs make no change and no event --------------------------------

# watch_from RV: services of the namespace from RV, in the background, into $WORK/watch.out
watch_from() {
    curl -sN --max-time 30 "$URL$SVC?watch=true&resourceVersion=$1&timeoutSeconds=25" \
        >"$WORK/watch.out" &
    WATCH_PID=$!
}

watch_events() { # one line per event: TYPE name
    $PY -S - "$WORK/watch.out" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    if line.strip():
        e = json.loads(line)
        print(e["type"], e["object"].get("metadata", {}).get("name"))
EOF
}

t_noop_and_dry_run_make_no_event() {
    mksvc noop
    mksvc marker
    # an apply that only takes ownership changes managedFields: a write; the same apply again
    # is the no-op
    patch "$SVC/noop?fieldManager=tester" '{"apiVersion":"v1","kind":"Service","metadata":{"name":"noop","labels":{"app":"web"}},"spec":{"ports":[{"name":"http","port":80,"targetPort":8080}]}}' $AP
    expect_status 200 "first apply"
    req GET "$SVC/noop"
    cp "$BODY_FILE" "$WORK/noop.json"
    keep rv .metadata.resourceVersion
    watch_from "$(list_rv)"
    local body ct
    for ct in $MP $SP; do
        for body in '{"metadata":{"labels":{"app":"web"}}}' '{}' '{"metadata":{"labels":{"missing":null}}}'; do
            patch "$SVC/noop" "$body" $ct
            expect_status 200 "no-op $ct $body"
            cmp -s "$BODY_FILE" "$WORK/noop.json" || fail "a no-op $ct patch $body changed the object"
        done
    done
    # a strategic merge of a list element with its own values (a merge patch would replace
    # the list)
    patch "$SVC/noop" '{"spec":{"ports":[{"port":80,"targetPort":8080}]}}' $SP
    expect_status 200 "no-op strategic list merge"
    cmp -s "$BODY_FILE" "$WORK/noop.json" || fail "a no-op strategic list merge changed the object"
    # re-applying what is there
    patch "$SVC/noop?fieldManager=tester" '{"apiVersion":"v1","kind":"Service","metadata":{"name":"noop","labels":{"app":"web"}},"spec":{"ports":[{"name":"http","port":80,"targetPort":8080}]}}' $AP
    expect_status 200 "no-op apply"
    cmp -s "$BODY_FILE" "$WORK/noop.json" || fail "an apply of existing values changed the object"
    patch "$SVC/noop" '[{"op":"test","path":"/spec/ports/0/port","value":80}]' $JP
    expect_status 200 "no-op json patch (test only)"
    cmp -s "$BODY_FILE" "$WORK/noop.json" || fail "a test-only JSON patch changed the object"
    patch "$SVC/noop" '[{"op":"replace","path":"/metadata/labels/tier","value":"fe"}]' $JP
    expect_status 200 "no-op json patch (same value)"
    cmp -s "$BODY_FILE" "$WORK/noop.json" || fail "a same-value JSON patch changed the object"
    # dry runs in the same window
    req POST "$SVC?dryRun=All" "$(from_template "$P/svc-base.json" noop-new)"
    expect_status 201 "dry-run create"
    patch "$SVC/noop?dryRun=All" '{"metadata":{"labels":{"dry":"yes"}}}' $MP
    expect_status 200 "dry-run patch"
    jq_is .metadata.labels.dry '"yes"'
    req PUT "$SVC/noop?dryRun=All" "$(put_body_from_last 'o["metadata"]["labels"]["dry"] = "put"')"
    expect_status 200 "dry-run put"
    req DELETE "$SVC/noop?dryRun=All"
    expect_status 200 "dry-run delete"
    req DELETE "$SVC?dryRun=All&labelSelector=app%3Dweb"
    expect_status 200 "dry-run deletecollection"
    req GET "$SVC/noop"
    cmp -s "$BODY_FILE" "$WORK/noop.json" || fail "the object changed"
    # a real change ends the window: it must be the only event
    patch "$SVC/marker" '{"metadata":{"labels":{"seen":"yes"}}}' $MP
    expect_status 200 "marker"
    wait_until 10 grep -q '"seen":"yes"' "$WORK/watch.out" || fail "the marker event never came"
    sleep 0.2
    kill "$WATCH_PID" 2>/dev/null
    wait "$WATCH_PID" 2>/dev/null
    [ "$(watch_events)" = "MODIFIED marker" ] ||
        fail "events during no-op patches and dry runs: $(watch_events | tr '\n' ';')"
}

t_dry_run_writes() {
    req POST "$SVC" '{"metadata":{"name":"drynp","labels":{"dryrun":"yes"}},"spec":{"type":"NodePort","ports":[{"port":80}]}}'
    expect_status 201 "create drynp"
    cp "$BODY_FILE" "$WORK/drynp.json"
    mksvc dry
    keep ip .spec.clusterIP
    keep rv .metadata.resourceVersion
    req GET "$SVC/dry"
    cp "$BODY_FILE" "$WORK/dry.json"
    settle
    local rv0 g0
    rv0=$(list_rv)
    g0=$(gauges)
    snapshot "$WORK/before"
    # create: the network address and the fake nodePorts from 32769, no resourceVersion
    req POST "$SVC?dryRun=All" '{"metadata":{"name":"dry-np"},"spec":{"type":"NodePort","ports":[{"name":"a","port":80},{"name":"b","port":81}]}}'
    expect_status 201 "dry-run create"
    expect_object "$P/dry-create.json"
    req GET "$SVC/dry-np"
    expect_status 404 "a dry-run create stored the object"
    # an existing name is still a conflict
    req POST "$SVC?dryRun=All" "$(from_template "$P/svc-base.json" dry)"
    expect_failure 409 AlreadyExists 'services "dry" already exists' '{"name":"dry","kind":"services"}'
    # update: ClusterIP -> NodePort keeps the address, the new port gets a fake nodePort
    req PUT "$SVC/dry?dryRun=All" "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"dry\",\"resourceVersion\":\"$(kept rv)\",\"labels\":{\"app\":\"web\"}},\"spec\":{\"type\":\"NodePort\",\"selector\":{\"app\":\"web\"},\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":8080}]}}"
    expect_status 200 "dry-run update"
    expect_object "$P/dry-update.json"
    jq_is .spec.clusterIP "\"$(kept ip)\""
    jq_is .metadata.resourceVersion "\"$(kept rv)\""
    # patch: ClusterIP -> LoadBalancer
    patch "$SVC/dry?dryRun=All" '{"spec":{"type":"LoadBalancer"}}' $MP
    expect_status 200 "dry-run patch"
    expect_object "$P/dry-patch.json"
    jq_is .spec.clusterIP "\"$(kept ip)\""
    jq_is .metadata.resourceVersion "\"$(kept rv)\""
    # delete: the object as stored; the address and the nodePort stay taken
    req DELETE "$SVC/dry?dryRun=All"
    expect_status 200 "dry-run delete"
    cmp -s "$BODY_FILE" "$WORK/dry.json" || fail "the dry-run delete answered another object"
    req DELETE "$SVC/drynp?dryRun=All"
    expect_status 200 "dry-run delete of a NodePort Service"
    cmp -s "$BODY_FILE" "$WORK/drynp.json" || fail "the dry-run delete answered another object"
    # deletecollection: the list of what would go
    req DELETE "$SVC?dryRun=All&fieldSelector=metadata.name%3Ddry"
    expect_status 200 "dry-run deletecollection"
    jq_is .kind '"ServiceList"'
    jq_is .metadata.resourceVersion "\"$rv0\""
    [ "$(pyq '[i["metadata"]["name"] for i in b["items"]]')" = '["dry"]' ] ||
        fail "deletecollection items: $(pyq '[i["metadata"]["name"] for i in b["items"]]')"
    req DELETE "$SVC?dryRun=All&labelSelector=dryrun%3Dyes"
    expect_status 200 "dry-run deletecollection by label"
    [ "$(pyq '[i["metadata"]["name"] for i in b["items"]]')" = '["drynp"]' ] ||
        fail "deletecollection items: $(pyq '[i["metadata"]["name"] for i in b["items"]]')"
    expect_unchanged "$WORK/before" "dry runs"
    [ "$(list_rv)" = "$rv0" ] || fail "the store's resourceVersion moved: $rv0 -> $(list_rv)"
    [ "$(gauges)" = "$g0" ] || fail "dry runs changed the allocator gauges: $g0 -> $(gauges)"
    settle
    [ "$(list_rv)" = "$rv0" ] || fail "something wrote after the dry runs: $rv0 -> $(list_rv)"
    req GET "$SVC/dry"
    cmp -s "$BODY_FILE" "$WORK/dry.json" || fail "the object changed"
}

# ---- PatchOptions -------------------------------------------------------------------------

t_patch_options() {
    mksvc opts
    snapshot "$WORK/before"
    local y
    y=$(from_template "$P/svc-base.json" opts)
    patch "$SVC/opts" "$y" $AP
    expect_failure 422 Invalid 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch' \
        '{"group":"meta.k8s.io","kind":"PatchOptions","causes":[{"reason":"FieldValueRequired","message":"Required value: is required for apply patch","field":"fieldManager"}]}'
    # checked before the object is looked up
    patch "$SVC/absent" "$(from_template "$P/svc-base.json" absent)" $AP
    expect_failure 422 Invalid 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch' \
        '{"group":"meta.k8s.io","kind":"PatchOptions","causes":[{"reason":"FieldValueRequired","message":"Required value: is required for apply patch","field":"fieldManager"}]}'
    patch "$SVC/opts?force=true" '{"metadata":{"labels":{"a":"b"}}}' $MP
    expect_failure 422 Invalid 'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch' \
        '{"group":"meta.k8s.io","kind":"PatchOptions","causes":[{"reason":"FieldValueForbidden","message":"Forbidden: may not be specified for non-apply patch","field":"force"}]}'
    patch "$SVC/opts?dryRun=foo" '{"metadata":{"labels":{"a":"b"}}}' $SP
    expect_failure 422 Invalid 'PatchOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"foo"}: supported values: "All"' \
        '{"group":"meta.k8s.io","kind":"PatchOptions","causes":[{"reason":"FieldValueNotSupported","message":"Unsupported value: []string{\"foo\"}: supported values: \"All\"","field":"dryRun"}]}'
    patch "$SVC/opts?dryRun=foo" "$y" $AP
    expect_failure 422 Invalid 'PatchOptions.meta.k8s.io "" is invalid: [fieldManager: Required value: is required for apply patch, dryRun: Unsupported value: []string{"foo"}: supported values: "All"]' \
        '{"group":"meta.k8s.io","kind":"PatchOptions","causes":[{"reason":"FieldValueRequired","message":"Required value: is required for apply patch","field":"fieldManager"},{"reason":"FieldValueNotSupported","message":"Unsupported value: []string{\"foo\"}: supported values: \"All\"","field":"dryRun"}]}'
    req GET "$SVC/absent"
    expect_status 404 "an apply without fieldManager created the object"
    expect_unchanged "$WORK/before" "refused options"
}

# ---- server-side apply --------------------------------------------------------------------

t_apply_create_and_reapply() {
    patch "$SVC/ap?fieldManager=tester" "@$P/apply-svc.yaml" $AP
    expect_status 201 "apply creates"
    expect_object "$P/apply-create.json"
    cp "$BODY_FILE" "$WORK/ap.json"
    req GET "$SVC/ap"
    expect_object "$P/apply-create.json"
    # the same configuration again: nothing changes, not even the resourceVersion
    patch "$SVC/ap?fieldManager=tester" "@$P/apply-svc.yaml" $AP
    expect_status 200 "apply again"
    cmp -s "$BODY_FILE" "$WORK/ap.json" || {
        diff <(tr ',' '\n' <"$WORK/ap.json") <(tr ',' '\n' <"$BODY_FILE") >&2
        fail "re-applying the same configuration changed the object"
    }
    # JSON is YAML: the same configuration as JSON is still no change
    patch "$SVC/ap?fieldManager=tester" '{"apiVersion":"v1","kind":"Service","metadata":{"name":"ap","labels":{"app":"ap"}},"spec":{"selector":{"app":"ap"},"ports":[{"name":"http","port":80,"targetPort":8080}]}}' $AP
    expect_status 200 "apply as JSON"
    cmp -s "$BODY_FILE" "$WORK/ap.json" || fail "the JSON form changed the object"
    # a changed value
    patch "$SVC/ap?fieldManager=tester" '{"apiVersion":"v1","kind":"Service","metadata":{"name":"ap","labels":{"app":"ap"}},"spec":{"selector":{"app":"ap"},"ports":[{"name":"http","port":80,"targetPort":9090}]}}' $AP
    expect_status 200 "apply a change"
    jq_is .spec.ports '[{"name":"http","protocol":"TCP","port":80,"targetPort":9090}]'
    [ "$(jq_get .metadata.resourceVersion)" -gt "$(jq_get_file "$WORK/ap.json" .metadata.resourceVersion)" ] ||
        fail "a changing apply kept the resourceVersion"
    # dry run: the answer of the apply, nothing stored
    patch "$SVC/ap-dry?fieldManager=tester&dryRun=All" "$(sed 's/name: ap$/name: ap-dry/' "$P/apply-svc.yaml")" $AP
    expect_status 201 "dry-run apply create"
    jq_is .spec.clusterIP '"10.96.0.0"'
    req GET "$SVC/ap-dry"
    expect_status 404 "a dry-run apply stored the object"
}

# What the field manager refuses before merging (apimachinery managedfields/internal
# versioncheck.go, structuredmerge.go): another kind or version, and managedFields in the
# configuration.
t_apply_errors() {
    mksvc aperr
    snapshot "$WORK/before"
    patch "$SVC/aperr?fieldManager=tester" '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"aperr"}}' $AP
    soft expect_failure 400 BadRequest "invalid object type: /v1, Kind=Pod"
    patch "$SVC/aperr?fieldManager=tester" '{"apiVersion":"v2","kind":"Service","metadata":{"name":"aperr"}}' $AP
    soft expect_failure 400 BadRequest "invalid object type: /v2, Kind=Service"
    patch "$SVC/aperr?fieldManager=tester" 'apiVersion: v1
metadata:
  name: aperr' $AP
    soft expect_failure 400 BadRequest "invalid object type: /v1, Kind="
    patch "$SVC/aperr?fieldManager=tester" '{"apiVersion":"v1","kind":"Service","metadata":{"name":"aperr","managedFields":[{"manager":"x","operation":"Apply"}]}}' $AP
    soft expect_failure 400 BadRequest "metadata.managedFields must be nil"
    expect_unchanged "$WORK/before" "refused applies"
    check_soft "an apply was not refused as upstream refuses it"
}

jq_get_file() { $JSONQ get "$1" "$2"; }

# Conflicts between managers (apimachinery managedfields/internal/conflict.go): one conflict
# is named in the message; several are listed per manager, managers in the order of their
# encoded identifiers; an Update manager is "<name> using <apiVersion>". These need the
# managedFields bookkeeping.
t_apply_conflicts() {
    local a b port='.spec.ports[port=80,protocol=\"TCP\"].targetPort'
    a='{"apiVersion":"v1","kind":"Service","metadata":{"name":"own","labels":{"team":"a"}},"spec":{"selector":{"app":"own"},"ports":[{"name":"http","port":80,"targetPort":8080}]}}'
    b='{"apiVersion":"v1","kind":"Service","metadata":{"name":"own"},"spec":{"ports":[{"name":"http","port":80,"targetPort":9090}]}}'
    patch "$SVC/own?fieldManager=mgr-a" "$a" $AP
    expect_status 201 "mgr-a creates"
    snapshot "$WORK/before"
    patch "$SVC/own?fieldManager=mgr-b" "$b" $AP
    expect_failure 409 Conflict "Apply failed with 1 conflict: conflict with \"mgr-a\": ${port//\\/}" \
        "{\"causes\":[{\"reason\":\"FieldManagerConflict\",\"message\":\"conflict with \\\"mgr-a\\\"\",\"field\":\"$port\"}]}"
    expect_unchanged "$WORK/before" "a conflicting apply"
    patch "$SVC/own?fieldManager=mgr-b&force=true" "$b" $AP
    expect_status 200 "force takes the field"
    jq_is '.spec.ports[0].targetPort' 9090
    patch "$SVC/own?fieldManager=mgr-a" "$a" $AP
    expect_failure 409 Conflict "Apply failed with 1 conflict: conflict with \"mgr-b\": ${port//\\/}" \
        "{\"causes\":[{\"reason\":\"FieldManagerConflict\",\"message\":\"conflict with \\\"mgr-b\\\"\",\"field\":\"$port\"}]}"
    # an Update takes the label from mgr-a; mgr-a then conflicts with two managers
    patch "$SVC/own?fieldManager=editor" '{"metadata":{"labels":{"team":"x"}}}' $MP
    expect_status 200 "editor"
    patch "$SVC/own?fieldManager=mgr-a" "$a" $AP
    expect_status 409 "two conflicts"
    expect_message_re "$(printf '%s' 'Apply failed with 2 conflicts: conflicts with "editor" using v1:
- .metadata.labels.team
conflicts with "mgr-b":
- .spec.ports[port=80,protocol="TCP"].targetPort' | $PY -S -c 'import re,sys; print(re.escape(sys.stdin.read()), end="")')"
    $PY -S - "$BODY_FILE" <<'EOF' || fail "the causes of two conflicts"
import json, sys
b = json.load(open(sys.argv[1]))
assert b["reason"] == "Conflict" and b["code"] == 409, b
assert list(b["details"].keys()) == ["causes"], b["details"]
got = sorted(json.dumps(c, sort_keys=False) for c in b["details"]["causes"])
want = sorted(json.dumps(c) for c in [
    {"reason": "FieldManagerConflict", "message": "conflict with \"editor\" using v1",
     "field": ".metadata.labels.team"},
    {"reason": "FieldManagerConflict", "message": "conflict with \"mgr-b\"",
     "field": ".spec.ports[port=80,protocol=\"TCP\"].targetPort"}])
assert got == want, got
EOF
    patch "$SVC/own?fieldManager=mgr-a&force=true" "$a" $AP
    expect_status 200 "mgr-a forces"
    jq_is '.metadata.labels' '{"team":"a"}'
    jq_is '.spec.ports[0].targetPort' 8080
}

# Patches without a resourceVersion never conflict: a lost race is recomputed from the new state
# (GuaranteedUpdate), so concurrent writers all succeed and every change is kept.
t_concurrent_patches_all_land() {
    mksvc race
    local i pids=()
    for i in $(seq 1 24); do
        curl -s -o /dev/null -w '%{http_code}\n' -X PATCH -H "Content-Type: $SP" \
            "$URL$SVC/race" -d "{\"metadata\":{\"labels\":{\"l$i\":\"v\"}}}" >>"$WORK/race-codes" &
        pids+=($!)
    done
    wait "${pids[@]}"
    [ "$(grep -c '^200$' "$WORK/race-codes")" = 24 ] ||
        fail "concurrent patches: $(sort "$WORK/race-codes" | uniq -c | tr -s ' \n' ' ')"
    req GET "$SVC/race"
    [ "$(jq_get .metadata.labels | grep -o '"l[0-9]*"' | wc -l)" = 24 ] ||
        fail "not every concurrent patch kept its label: $(jq_get .metadata.labels)"
}

run_case unsupported_media_type t_unsupported_media_type
run_case merge_patch_service t_merge_patch_service
run_case strategic_merge_service t_strategic_merge_service
run_case strategic_directives t_strategic_directives
run_case strategic_merge_errors t_strategic_merge_errors
run_case json_patch_every_op t_json_patch_every_op
run_case json_patch_failures t_json_patch_failures
run_case patch_missing_object t_patch_missing_object
run_case endpoints_patches t_endpoints_patches
run_case patch_identity t_patch_identity
run_case field_validation_warn t_field_validation_warn
run_case field_validation_strict t_field_validation_strict
run_case invalid_result_like_put t_invalid_result_like_put
run_case status_subresource t_status_subresource
run_case noop_and_dry_run_make_no_event t_noop_and_dry_run_make_no_event
run_case dry_run_writes t_dry_run_writes
run_case patch_options t_patch_options
run_case apply_create_and_reapply t_apply_create_and_reapply
run_case apply_errors t_apply_errors
run_case apply_conflicts t_apply_conflicts
run_case concurrent_patches_all_land t_concurrent_patches_all_land
finish patch
