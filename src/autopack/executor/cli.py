"""`autopack execute`: drive a run on a server with a command or LLM builder (a pure API client)."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from autopack.remote.common import ApiUrl, err, make_client, out, remote, usage_error

BUILDERS = ("command", "openai", "anthropic")
DEFAULT_LLM_URLS = {"openai": "https://api.openai.com/v1", "anthropic": "https://api.anthropic.com"}
EXIT_FAILED, EXIT_INTERRUPTED = 1, 130


def make_builder(kind: str, command: str | None, workspace: Path, timeout: float):
    """The configured builder; LLM settings from AUTOPACK_LLM_BASE_URL, _MODEL and _API_KEY."""
    from autopack.executor import builders

    if kind == "command":
        if not command:
            raise usage_error("the command builder needs --builder-command (or AUTOPACK_EXECUTOR_BUILDER_COMMAND)")
        return builders.CommandBuilder(command, workspace, timeout)
    if kind not in BUILDERS:
        raise usage_error(f"--builder must be one of {', '.join(BUILDERS)}")
    model = os.environ.get("AUTOPACK_LLM_MODEL")
    if not model:
        raise usage_error(f"the {kind} builder needs AUTOPACK_LLM_MODEL")
    base = os.environ.get("AUTOPACK_LLM_BASE_URL") or DEFAULT_LLM_URLS[kind]
    cls = builders.ChatBuilder if kind == "openai" else builders.AnthropicBuilder
    return cls(base, model, os.environ.get("AUTOPACK_LLM_API_KEY"), workspace, timeout)


@remote
def execute(
    run_id: str = typer.Option(..., "--run-id", help="The run to drive."),
    workspace: Path = typer.Option(Path("."), "--workspace", help="The directory patches apply to.",
                                   file_okay=False, exists=True),
    api_url: str | None = ApiUrl,
    builder: str = typer.Option("command", "--builder", envvar="AUTOPACK_EXECUTOR_BUILDER",
                                help="command, openai (chat completions) or anthropic (Messages)."),
    builder_command: str | None = typer.Option(None, "--builder-command",
                                               envvar="AUTOPACK_EXECUTOR_BUILDER_COMMAND",
                                               help="Program reading the phase JSON, printing a diff."),
    auditor_command: str | None = typer.Option(None, "--auditor-command",
                                               envvar="AUTOPACK_EXECUTOR_AUDITOR_COMMAND",
                                               help="Program reading the phase JSON, printing a verdict."),
    test_command: str | None = typer.Option(None, "--test-command", envvar="AUTOPACK_EXECUTOR_TEST_COMMAND",
                                            help="Check of phases without scope.ci."),
    max_attempts: int = typer.Option(3, "--max-attempts", min=1, max=20,
                                     envvar="AUTOPACK_EXECUTOR_MAX_ATTEMPTS"),
    check_timeout: float = typer.Option(600.0, "--check-timeout", min=1,
                                        envvar="AUTOPACK_EXECUTOR_CHECK_TIMEOUT_SECONDS"),
    max_net_deletion: int = typer.Option(200, "--max-net-deletion", min=0,
                                         envvar="AUTOPACK_EXECUTOR_MAX_NET_DELETION",
                                         help="Net deleted lines above which a patch needs an approval."),
    approval_timeout: float | None = typer.Option(None, "--approval-timeout", min=1,
                                                  envvar="AUTOPACK_EXECUTOR_APPROVAL_TIMEOUT_SECONDS",
                                                  help="Seconds to wait for an approval (default: until the "
                                                       "server times it out)."),
    step_timeout: float = typer.Option(300.0, "--step-timeout", min=1,
                                       envvar="AUTOPACK_EXECUTOR_STEP_TIMEOUT_SECONDS",
                                       help="Seconds a builder or auditor may take."),
) -> None:
    """Drive a run: each queued phase through the builder, governed apply, checks and the auditor."""
    from autopack.executor.builders import CommandAuditor
    from autopack.executor.loop import Executor, ExecutorError, Options

    root = workspace.resolve()
    made = make_builder(builder, builder_command, root, step_timeout)
    auditor = CommandAuditor(auditor_command, root, step_timeout) if auditor_command else None
    options = Options(max_attempts=max_attempts, check_timeout=check_timeout,
                      default_checks=[test_command] if test_command else [], max_net_deletion=max_net_deletion,
                      approval_timeout=approval_timeout)
    with make_client(api_url) as client:
        executor = Executor(client, run_id, root, made, auditor, options, say=out.print)
        try:
            outcome = executor.run()
        except ExecutorError as exc:
            err.print(f"[red]error:[/] {exc}")
            raise typer.Exit(EXIT_FAILED) from None
        except KeyboardInterrupt:
            err.print("interrupted: stopped after putting the current phase back")
            raise typer.Exit(EXIT_INTERRUPTED) from None
    out.print(f"run {run_id}: {outcome.final_state}; {len(outcome.completed)} phase(s) complete, "
              f"{len(outcome.failed)} failed" + (", stopped by its budget" if outcome.stopped_reason else ""))
    if outcome.failed or outcome.stopped_reason or not (outcome.final_state or "").startswith("DONE_SUCCESS"):
        raise typer.Exit(EXIT_FAILED)
