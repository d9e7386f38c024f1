"""The runbook step extractor on real-world shapes, variables, and running a prepared step for real."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from warroom.errors import UsageError
from warroom.playbook.runbooks import (
    Step,
    extract_steps,
    load_runbooks,
    matches,
    output_tail,
    parse_runbook,
    variables,
)
from warroom.playbook.step_run import child_env, prepare, step_secrets

DATA = Path(__file__).resolve().parents[1] / "data"


def md(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def commands(markdown: str) -> list[str]:
    """The runnable steps' commands (manual steps left out)."""
    return [step.command for step in extract_steps(md(markdown)) if not step.manual]


def argv(step: Step, environ: dict[str, str], fields: dict[str, str] | None = None) -> list[str]:
    return prepare(step, environ, fields or {}).argv


# --- which blocks are steps ------------------------------------------------------------


def test_shell_blocks_run_other_blocks_are_manual_and_documents_are_not_steps():
    steps = extract_steps(md("""
        # Site down

        ```bash
        curl -sS "${API_URL}/health"
        ```

        ```sh
        uptime
        ```

        ```shell
        df -h /
        ```

        ```python
        print("by hand")
        ```

        ```text
        HTTP/1.1 502 Bad Gateway
        ```

        ```
        no info string: by hand too
        ```

        ```json
        {"status": "down"}
        ```

        ```mermaid
        graph TD; a-->b
        ```
    """))
    assert [(s.index, s.language, s.command, s.manual) for s in steps] == [
        (1, "bash", 'curl -sS "${API_URL}/health"', False),
        (2, "sh", "uptime", False),
        (3, "shell", "df -h /", False),
        (4, "python", 'print("by hand")', True),
        (5, "text", "HTTP/1.1 502 Bad Gateway", True),
        (6, "", "no info string: by hand too", True),
    ]
    assert [s.line for s in steps] == [4, 8, 12, 16, 20, 24]   # the step's own line, 1-based


def test_info_string_forms():
    assert commands("""
        ```BASH
        one
        ```

        ```bash title="restart"
        two
        ```

        ``` sh
        three
        ```

        ```{.bash}
        four
        ```

        ```bashrc
        not bash
        ```
    """) == ["one", "two", "three", "four"]


def test_the_comment_right_above_a_command_is_its_label_and_comment_only_blocks_are_not_steps():
    steps = extract_steps(md("""
        ```bash
        # Count connections by state.
        psql "${DATABASE_URL}" -X -c "select state, count(*) from pg_stat_activity group by state"
        # then compare with max_connections
        ```

        ```bash
        # kubectl rollout undo deployment/api
        # (left here for reference)
        ```
    """))
    assert [(s.label, s.command, s.line) for s in steps] == [
        ("Count connections by state.",
         'psql "${DATABASE_URL}" -X -c "select state, count(*) from pg_stat_activity group by state"', 3)]


def test_backslash_continuations_and_multi_line_quotes_are_one_step():
    [command] = commands("""
        ```bash
        kubectl -n "${KUBE_NAMESPACE}" rollout undo deployment/api \\
          && kubectl -n "${KUBE_NAMESPACE}" rollout status deployment/api --timeout=5m
        ```
    """)
    assert command == ('kubectl -n "${KUBE_NAMESPACE}" rollout undo deployment/api \\\n'
                       '  && kubectl -n "${KUBE_NAMESPACE}" rollout status deployment/api --timeout=5m')
    [query] = commands("""
        ```bash
        psql "${DATABASE_URL}" -X -c "
          select pid, now() - query_start as runtime
          from pg_stat_activity
          order by runtime desc limit 15;"
        ```
    """)
    assert query.count("\n") == 3 and query.endswith('limit 15;"')
    [echo] = extract_steps(md("""
        ```bash
        printf '%s|' one \\
          two \\
          three
        ```
    """))
    env = child_env({"PATH": "/usr/bin:/bin"}, {})
    done = subprocess.run(argv(echo, env), env=env, capture_output=True, text=True, timeout=30)
    assert done.stdout == "one|two|three|"


def test_each_command_of_a_block_is_a_step_of_its_own():
    assert commands("""
        ```bash

        echo one

        echo two
        echo three

        ```
    """) == ["echo one", "echo two", "echo three"]


def test_heredoc_with_backticks_inside_a_tilde_fence():
    [command] = commands("""
        ~~~~bash
        cat > /tmp/notice.md <<'EOF'
        Status update:
        ```
        all systems normal
        ```
        EOF
        ~~~~
    """)
    assert command.splitlines() == ["cat > /tmp/notice.md <<'EOF'", "Status update:", "```",
                                    "all systems normal", "```", "EOF"]


def test_a_longer_backtick_fence_holds_shorter_ones():
    [command] = commands("""
        ````bash
        cat <<EOF
        ```bash
        echo nested
        ```
        EOF
        ````
    """)
    assert command.splitlines()[1:4] == ["```bash", "echo nested", "```"]


def test_a_tilde_fence_is_not_closed_by_backticks_nor_by_a_shorter_tilde_run():
    command = "\n".join(commands("""
        ~~~~~sh
        echo a
        ~~~
        ```
        echo b
        ~~~~~~
        after
    """))
    assert command.splitlines() == ["echo a", "~~~", "```", "echo b"]


def test_indented_fences_up_to_three_spaces_lose_that_indent():
    assert commands("""
        Text.

           ```bash
           echo three
             echo five
           ```

        Four spaces is an indented code block, not a fence:

            ```bash
            echo not a step
            ```
    """) == ["echo three", "echo five"]


def test_fences_inside_list_items():
    steps = extract_steps(md("""
        1. Check the pods:

           ```bash
           kubectl get pods
           ```

        2. Restart them:

            ```sh
            kubectl rollout restart deployment/api
            ```

        - nested:
          - deeper

            ```bash
            echo deep
            ```
    """))
    assert [s.command for s in steps] == ["kubectl get pods", "kubectl rollout restart deployment/api",
                                          "echo deep"]


def test_an_unterminated_fence_is_not_a_step():
    assert commands("""
        ```bash
        echo closed
        ```

        ```bash
        rm -rf "${SCRATCH}"
        and then the rest of the document, which nobody meant to run
    """) == ["echo closed"]


def test_backticks_in_commands_and_inline_fences_are_not_fences():
    assert commands("""
        Run ```bash inline``` in a sentence is not a fence.

        ```bash
        echo "built at `date -u`"
        ```
    """) == ['echo "built at `date -u`"']


def test_console_blocks_give_one_step_per_prompt_and_drop_output():
    steps = extract_steps(md("""
        ```console
        $ curl -sS -m 5 "${API_URL}/health"
        {"status": "ok"}
        $ kubectl get pods \\
            -l app=api
        NAME        READY   STATUS
        api-7d9f    1/1     Running
        $ cat <<EOF | wc -l
        > one
        > two
        > EOF
        2
        ```

        ```console
        only output here
        ```
    """))
    assert [(s.language, s.line, s.command.splitlines()) for s in steps] == [
        ("console", 2, ['curl -sS -m 5 "${API_URL}/health"']),
        ("console", 4, ["kubectl get pods \\", "    -l app=api"]),
        ("console", 8, ["cat <<EOF | wc -l", "one", "two", "EOF"]),
    ]


def test_steps_know_their_heading_and_code_comments_are_not_headings():
    runbook = parse_runbook("db", md("""
        ```bash
        # not a heading
        echo before
        ```

        # Database unreachable

        ## Check

        ```bash
        echo check
        ```

        ## Mitigate

        ```bash
        echo mitigate
        ```
    """))
    assert runbook.title == "Database unreachable"
    assert [(s.heading, s.label, s.command) for s in runbook.steps] == [
        ("", "not a heading", "echo before"), ("Check", "", "echo check"), ("Mitigate", "", "echo mitigate")]


def test_title_falls_back_to_the_file_name():
    assert parse_runbook("stuck-worker", "no heading here\n").title == "Stuck worker"
    assert parse_runbook("x", "Setext title\n============\n").title == "Setext title"


def test_crlf_files():
    assert commands("# T\r\n\r\n```bash\r\necho one\r\n```\r\n") == ["echo one"]


# --- the bundled runbooks -------------------------------------------------------------------


@pytest.mark.parametrize("folder", [DATA / "runbooks", DATA / "demo" / "runbooks"], ids=["bundled", "demo"])
def test_bundled_runbooks_load_with_titles_and_steps(folder):
    runbooks = load_runbooks(folder)
    assert [r.name for r in runbooks] == sorted(p.stem for p in folder.glob("*.md"))
    assert len(runbooks) >= 7
    for runbook in runbooks:
        assert runbook.title and not runbook.title.startswith("#")
        fences = sum(1 for line in runbook.text.splitlines() if line.startswith("```bash"))
        runnable = [step for step in runbook.steps if not step.manual]
        assert len(runnable) == fences, runbook.name  # each block is one command, labelled
        assert all(step.command.strip() and step.title for step in runbook.steps)


def test_demo_runbooks_need_only_the_demo_url_and_incident_fields():
    needed = {name for runbook in load_runbooks(DATA / "demo" / "runbooks")
              for step in runbook.steps for name in variables(step.command)}
    assert needed <= {"DEMO_URL", "INCIDENT_ID", "SEVERITY", "STATUS", "TITLE"}


def test_load_runbooks_missing_folder_and_other_files(tmp_path):
    assert load_runbooks(tmp_path / "nope") == []
    (tmp_path / "b.md").write_text("# B\n\n```bash\necho b\n```\n")
    (tmp_path / "a.md").write_bytes(b"# A \xff\n")          # undecodable bytes are replaced, not fatal
    (tmp_path / "notes.txt").write_text("# not a runbook\n")
    (tmp_path / "dir.md").mkdir()
    runbooks = load_runbooks(tmp_path)
    assert [(r.name, r.title, len(r.steps)) for r in runbooks] == [("a", "A \ufffd", 0), ("b", "B", 1)]
    assert runbooks[1].path == tmp_path / "b.md"


def test_search_matches_title_and_content():
    runbook = parse_runbook("cache-down", "# Cache down\n\nRedis is unreachable.\n")
    assert matches(runbook, "")
    assert matches(runbook, "cache")
    assert matches(runbook, "REDIS unreachable")
    assert not matches(runbook, "redis postgres")


# --- variables ------------------------------------------------------------------------------


def test_variables_only_braced_names():
    command = ("curl -sS -w '%{http_code} %{time_total}s\\n' \"${API_URL}/health\"\n"
               "kubectl get pods -o jsonpath='{.items[*].metadata.name}' -n \"${KUBE_NAMESPACE}\"\n"
               "echo $(date) $HOME ${API_URL} ${FALLBACK:-none} \\${ESCAPED} ${lower_case}")
    assert variables(command) == ["API_URL", "KUBE_NAMESPACE", "lower_case"]


def test_variables_skip_comment_lines_but_not_heredoc_bodies():
    command = md("""
        # psql "${OLD_DATABASE_URL}" (the old way)
        psql "${DATABASE_URL}" <<'SQL'
        # not a comment: data, and ${SCHEMA} is the tool's business
        select 1;
        SQL
        echo "<<not a heredoc" ${AFTER}
        # ${COMMENTED}
    """)
    assert variables(command) == ["DATABASE_URL", "SCHEMA", "AFTER"]


# --- prepare and run ------------------------------------------------------------------------


def test_prepare_refuses_an_unset_variable_naming_it():
    step = Step(2, "bash", 'psql "${DATABASE_URL}" -c "select 1"', 10)
    with pytest.raises(UsageError) as caught:
        prepare(step, {"PATH": "/usr/bin:/bin"}, {"INCIDENT_ID": "INC-1"})
    assert str(caught.value) == "step 2 needs ${DATABASE_URL}: give a value for each"
    two = Step(3, "bash", 'echo "${A}" "${B}" "${TITLE}"', 1)
    with pytest.raises(UsageError, match=r"step 3 needs \$\{A\} and \$\{B\}: give"):
        prepare(two, {"PATH": "/usr/bin:/bin"}, {"TITLE": "x"})


def test_prepare_accepts_incident_fields_and_set_variables():
    step = Step(1, "bash", 'echo "${INCIDENT_ID}" "${DATABASE_URL}"', 1)
    run = argv(step, {"PATH": "/usr/bin:/bin", "DATABASE_URL": ""}, {"INCIDENT_ID": "INC-1"})
    assert run[1:] == ["-c", step.command]
    assert run[0] in ("bash", "sh")


def test_incident_fields_reach_the_child_as_environment_not_as_shell_text(tmp_path):
    marker = tmp_path / "pwned"
    title = f'Checkout "; touch {marker}; echo "$(touch {marker}) `touch {marker}` \' ${{HOME}}'
    fields = {"INCIDENT_ID": "INC-7f3a", "SEVERITY": "P1", "STATUS": "investigating", "TITLE": title}
    step = Step(1, "bash", 'echo "$TITLE"\necho "${INCIDENT_ID} ${SEVERITY} ${STATUS}"', 1)
    env = child_env({"PATH": "/usr/bin:/bin"}, fields)
    done = subprocess.run(argv(step, env, fields), env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [title, "INC-7f3a P1 investigating"]
    assert not marker.exists()


def test_child_env_makes_a_hostile_title_inert():
    env = child_env({"PATH": "/bin"}, {"TITLE": "red\x1b[31m alert\x00\nline"})
    assert "\x1b" not in env["TITLE"] and "\x00" not in env["TITLE"] and "\n" not in env["TITLE"]
    assert env["PATH"] == "/bin"


def test_a_real_heredoc_step_runs_as_written(tmp_path):
    [step] = extract_steps(md("""
        ~~~bash
        cat <<'EOF'
        ```
        ${NOT_EXPANDED}
        ```
        EOF
        ~~~
    """))
    env = child_env({"PATH": "/usr/bin:/bin", "NOT_EXPANDED": "set"}, {})
    done = subprocess.run(argv(step, env), env=env, capture_output=True, text=True, timeout=30)
    assert done.stdout.splitlines() == ["```", "${NOT_EXPANDED}", "```"]


def test_step_secrets_are_the_values_it_uses_except_plain_urls():
    step = Step(1, "bash", 'psql "${DATABASE_URL}"; curl "${API_URL}" -H "X-Token: ${API_TOKEN}" ${TITLE}', 1)
    environ = {"DATABASE_URL": "postgres://app:hunter22@db/app", "API_URL": "https://api.example.test",
               "API_TOKEN": "tok-123456", "TITLE": "Checkout down", "UNUSED": "something-else"}
    assert step_secrets(step, environ) == ("postgres://app:hunter22@db/app", "tok-123456")


def test_output_tail_keeps_the_last_lines_and_notes_a_stop():
    lines = [f"line {n}" for n in range(1, 26)] + ["", ""]
    assert output_tail(lines).splitlines() == [f"line {n}" for n in range(18, 26)]
    assert output_tail(["a", "b"], stopped=True) == "a\nb\n(stopped)"
    assert len(output_tail(["x" * 10_000])) < 400


def test_the_shell_is_bash_when_there_is_one_else_sh(tmp_path):
    only_sh = tmp_path / "bin"
    only_sh.mkdir()
    (only_sh / "sh").symlink_to("/bin/sh")
    step = Step(1, "sh", "echo hi", 1)
    assert argv(step, {"PATH": str(only_sh)})[0] == "sh"
    assert argv(step, {"PATH": "/usr/bin:/bin"})[0] == "bash"


def test_core_module_imports_no_ui():
    code = "import sys, warroom.playbook.runbooks, warroom.playbook.step_run; print(any(m.split('.')[0] in ('textual', 'httpx') for m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr
