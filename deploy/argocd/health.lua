-- Argo CD health of an mpu-operator.io MPUTask. Install: argocd-cm key
-- resource.customizations.health.mpu-operator.io_MPUTask (see argocd-cm.yaml, docs/deploy.md).
-- Tested like Argo CD's own scripts: health_test.yaml over testdata/ (tests/gitops).
--
-- In this order:
--   1. no status yet, status of an older generation, or being deleted -> Progressing
--   2. condition Stalled=True (a person must act)                      -> Degraded
--   3. status.phase Suspended (spec.suspend)                           -> Suspended
--   4. condition Ready=True (running, waiting for the channel, phase
--      Scheduled: waiting for spec.schedule.startAt, or a broadcast
--      that ended as its restartPolicy or its schedule says)           -> Healthy
--      (reason RunningOnBackup: live on a backup stream URL after a
--      failover; Healthy, the message says so and names the URL)
--   5. anything else (starting, waiting for a URL or a Secret, ...)    -> Progressing
-- Messages are the conditions' own (Ready's, or Stalled's when Degraded).
--
-- Written for Argo CD's Lua: 5.1, and only the base, table and os libraries (no string
-- library), so plain comparisons and `..` only.

local function condition(ctype)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == ctype then
      return c
    end
  end
  return nil
end

local function message(c, otherwise)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  return otherwise
end

local hs = {}
local ready = condition("Ready")

if obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "Deleting: " .. message(ready, "waiting for the operator's finalizer")
  return hs
end

if obj.status == nil or obj.status.observedGeneration == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report status"
  return hs
end

local generation = obj.metadata.generation
if generation ~= nil and obj.status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. generation
    .. " (status is of generation " .. obj.status.observedGeneration .. ")"
  return hs
end

local stalled = condition("Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = message(stalled, message(ready, "Stalled"))
  return hs
end

if obj.status.phase == "Suspended" then
  hs.status = "Suspended"
  hs.message = message(ready, "Suspended")
  return hs
end

if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = message(ready, "Ready")
  if ready.reason == "RunningOnBackup" then
    -- status.activeStreamURL never holds a query or userinfo (the operator redacts it)
    local url = obj.status.activeStreamURL
    local on = "Running on a backup stream URL"
    if type(url) == "string" and url ~= "" then
      on = on .. " (" .. url .. ")"
    end
    hs.message = on .. ": " .. hs.message
  end
  return hs
end

hs.status = "Progressing"
hs.message = message(ready, "Waiting for the operator")
return hs
