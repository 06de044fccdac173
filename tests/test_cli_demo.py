"""The ``demo`` command: a tutorial example computed three ways, printed as a report."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from tinygrad_nn import cli
from tinygrad_nn.cli import demo


def run_args(**kw: Any) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    demo.configure(parser)
    argv = [f"--{k}={v}" for k, v in kw.items()]
    return parser.parse_args(argv)


def test_run_demo_000(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.run(run_args()) == 0
    out = capsys.readouterr().out
    assert "Seed 000 worked example" in out
    assert "w_11^1  layers.0.weight[0, 0]                 0.028476     0.028476     0.028476" \
        in out
    assert "OK:" in out


def test_run_demo_004(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.run(run_args(example="004", digits=4)) == 0
    out = capsys.readouterr().out
    assert "a^(3)             0.66     0.6586" in out
    assert "Chain-rule factors" in out


def test_run_demo_fails_on_a_mismatch(monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    from tinygrad_nn.tutorial import examples

    real = examples.manual_backprop

    def off_by_a_little(*args: Any, **kwargs: Any) -> Any:
        r = real(*args, **kwargs)
        r.grads[0] = (r.grads[0][0] + 1e-9, r.grads[0][1])
        return r

    monkeypatch.setattr(examples, "manual_backprop", off_by_a_little)
    assert demo.run(run_args()) == 1
    assert "MISMATCH" in capsys.readouterr().out


def test_cli_demo(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo", "--example", "000"]) == 0
    captured = capsys.readouterr()
    assert "Seed 000 worked example" in captured.out and captured.err == ""
    assert cli.main(["demo", "--digits", "0"]) == 2
    assert "--digits must be between 1 and 15, got 0" in capsys.readouterr().err


def test_every_option_of_every_command_does_something() -> None:
    """No option is accepted only to be ignored (demo once took ``--fast`` and did nothing):
    each option of a command is read by its ``run``."""
    import inspect

    for name, command in cli.COMMANDS.items():
        parser = argparse.ArgumentParser()
        command.configure(parser)
        source = inspect.getsource(command)
        unread = [a.dest for a in parser._actions
                  if a.dest != "help" and f"args.{a.dest}" not in source
                  and f'"{a.dest}"' not in source]
        assert not unread, f"{name}: options accepted but never read: {unread}"
