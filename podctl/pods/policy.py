"""`--exit-policy stop`: stop the pod (its infra container) when the last member has exited."""

from __future__ import annotations

from podctl.config import Config
from podctl.state import pods as podstate
from podctl.state.containers import ContainerRecord, State, StateDB


def after_member_exit(cfg: Config, db: StateDB, rec: ContainerRecord) -> None:
    from podctl.engine import lifecycle as lc

    pod = podstate.get(db, rec.pod)
    if pod is None or pod.spec.get("exit_policy", "continue") != "stop" or not pod.infra_id:
        return
    for other in podstate.members(db, pod.id):
        if other.id in (rec.id, pod.infra_id):
            continue
        if lc.observed(cfg, other).state in (State.RUNNING, State.STOPPING):
            return
    infra = db.get_container(pod.infra_id)
    if infra is None:
        return
    with lc.locked(cfg, infra.id):
        current = db.get_container(infra.id)
        if current is not None:
            lc.stop(cfg, db, current, None)
    podstate.update(db, pod.id, state="stopped")
