"""Issue 4: events: image events are replayed by `docker events --since` and the
daemon keeps serving (a freed image event once crashed it)."""

import time

from daemon_fixtures import berthd_factory, docker_text  # noqa: F401


def test_image_events_replay_without_filters(berthd_factory):
    d = berthd_factory()
    docker_text(d, "tag", "busybox:latest", "ev-img:1")
    docker_text(d, "rmi", "ev-img:1")
    time.sleep(1.1)  # --until 0s ends the replay at "now"
    p = docker_text(d, "events", "--since", "1m", "--until", "0s",
                    "--format", "{{.Type}} {{.Action}}")
    lines = p.stdout.splitlines()
    assert "image tag" in lines, p.stdout
    assert "image untag" in lines, p.stdout
    # The same replay again, and the daemon still answers.
    p = docker_text(d, "events", "--since", "1m", "--until", "0s")
    assert "tag" in p.stdout
    assert docker_text(d, "version", "--format", "{{.Server.Version}}").stdout.strip()
