#!/usr/bin/env bash
# End-to-end on a throw-away kind cluster (needs docker, kind, kubectl; run by `make e2e`).
#
#  1. create the kind cluster "mpu-e2e" (deleted again on exit, whatever happens);
#  2. build the image and load it into kind;
#  3. install deploy/ plus the in-cluster RTC emulator (tests/e2e/kustomization.yaml);
#  4. smoke-test the installed operator: a sample MPUTask is reconciled, then deleted
#     (proves the image, the RBAC and the manifests);
#  5. scale the in-cluster operator to zero and run the portable scenarios with the
#     real-cluster backend: the tests start their own operator process against kind, and
#     tests/kube checks the API stand-in's claims against the real apiserver.
#
# Environment: MPU_E2E_KEEP=1 keeps the cluster (and prints how to reach it);
# PYTHON picks the interpreter (default .venv/bin/python). Extra args go to pytest.
set -euo pipefail

readonly CLUSTER="mpu-e2e"
readonly IMAGE="mpu-operator:e2e"   # the tag tests/e2e/kustomization.yaml deploys
readonly SYSTEM_NS="mpu-operator-system"
readonly SMOKE_NS="mpu-e2e-smoke"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly ROOT
cd "${ROOT}"
PYTHON="${PYTHON:-${ROOT}/.venv/bin/python}"
WORKDIR="$(mktemp -d)"
readonly WORKDIR
export KUBECONFIG="${WORKDIR}/kubeconfig"

log() { printf '\n=== %s\n' "$*" >&2; }

need() {
  local tool
  for tool in "$@"; do
    command -v "${tool}" >/dev/null 2>&1 || { echo "run-kind.sh: ${tool} is required" >&2; exit 2; }
  done
}

dump_state() {
  log "state at failure"
  kubectl get mputasks,events --all-namespaces -o wide || true
  kubectl -n "${SYSTEM_NS}" get pods -o wide || true
  kubectl -n "${SYSTEM_NS}" logs deploy/mpu-operator --tail=200 || true
  kubectl -n "${SYSTEM_NS}" logs deploy/mpu-rtc-emulator --tail=100 || true
}

cleanup() {
  local status=$?
  if [[ ${status} -ne 0 ]]; then
    dump_state
  fi
  if [[ -n "${MPU_E2E_KEEP:-}" ]]; then
    log "keeping cluster ${CLUSTER}: export KUBECONFIG=${KUBECONFIG}"
  else
    log "deleting cluster ${CLUSTER}"
    kind delete cluster --name "${CLUSTER}" || true
    rm -rf "${WORKDIR}"
  fi
  exit "${status}"
}

create_cluster() {
  log "creating kind cluster ${CLUSTER}"
  if kind get clusters 2>/dev/null | grep -qx "${CLUSTER}"; then
    echo "a kind cluster named ${CLUSTER} exists; delete it first: kind delete cluster --name ${CLUSTER}" >&2
    exit 2
  fi
  trap cleanup EXIT
  kind create cluster --name "${CLUSTER}" --kubeconfig "${KUBECONFIG}" --wait 120s
}

build_and_load_image() {
  log "building ${IMAGE}"
  docker build --tag "${IMAGE}" "${ROOT}"
  kind load docker-image "${IMAGE}" --name "${CLUSTER}"
}

install() {
  log "installing deploy/ with the in-cluster RTC emulator"
  # Server-side apply: the CRD's schema is too big for client-side apply's annotation.
  kubectl apply --server-side --field-manager=mpu-e2e -k "${ROOT}/tests/e2e"
  kubectl wait --for=condition=Established --timeout=60s crd/mputasks.mpu-operator.io
  kubectl -n "${SYSTEM_NS}" rollout status deploy/mpu-rtc-emulator --timeout=180s
  kubectl -n "${SYSTEM_NS}" rollout status deploy/mpu-operator --timeout=180s
}

smoke_test() {
  log "smoke test: the installed operator reconciles and finalizes a sample"
  kubectl create namespace "${SMOKE_NS}"
  # The sample with the emulator's test credentials instead of its placeholders.
  sed -e 's/accessKeyId: "REPLACE_ME"/accessKeyId: "testid"/' \
      -e 's/accessKeySecret: "REPLACE_ME"/accessKeySecret: "testsecret"/' \
      "${ROOT}/deploy/samples/mputask.yaml" | kubectl -n "${SMOKE_NS}" apply -f -
  kubectl -n "${SMOKE_NS}" wait --for=jsonpath='{.status.observedGeneration}'=1 \
    mputask/demo --timeout=120s
  kubectl -n "${SMOKE_NS}" get mputask/demo -o wide
  kubectl -n "${SMOKE_NS}" delete mputask/demo --timeout=120s  # waits for the finalizer
  kubectl delete namespace "${SMOKE_NS}" --wait=false
}

stop_installed_operator() {
  log "scaling the installed operator to 0 (the scenarios run their own)"
  kubectl -n "${SYSTEM_NS}" scale deploy/mpu-operator --replicas=0
  kubectl -n "${SYSTEM_NS}" wait --for=delete pod \
    --selector=app.kubernetes.io/name=mpu-operator --timeout=120s
}

run_scenarios() {
  log "portable scenarios against kind"
  MPU_E2E_KUBECONFIG="${KUBECONFIG}" "${PYTHON}" -m pytest -p no:cacheprovider \
    -m "portable or e2e" "$@"
}

main() {
  need docker kind kubectl
  [[ -x "${PYTHON}" ]] || { echo "run-kind.sh: no ${PYTHON}; run make first" >&2; exit 2; }
  [[ -f "${ROOT}/crds/kustomization.yaml" ]] || {
    echo "run-kind.sh: crds/kustomization.yaml is missing (deploy/ composes ../crds)" >&2; exit 2; }
  create_cluster
  build_and_load_image
  install
  smoke_test
  stop_installed_operator
  run_scenarios "$@"
}

main "$@"
