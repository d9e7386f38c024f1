"""One step, one command: the shapes the teams' guides use (in our own words), a property test
that no step ever holds two commands, placeholders filled with hostile values and run for real
(nothing they hold is ever code), manual steps, and how a stopped step reads."""

from __future__ import annotations

import shlex
import signal
import subprocess
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warroom.errors import UsageError
from warroom.playbook.runbooks import Step, extract_steps
from warroom.playbook.shell import DOUBLE, PLAIN, SINGLE, contexts, quote_for, split_commands
from warroom.playbook.step_run import child_env, exit_words, needs, placeholders, prepare

PATH = {"PATH": "/usr/bin:/bin"}


def md(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def shape(markdown: str) -> list[tuple[str, str, bool]]:
    """(label, command, manual) of every step."""
    return [(s.label, s.command, s.manual) for s in extract_steps(md(markdown))]


# --- the guides' shapes, in our own words ---------------------------------------------------


def test_a_rollback_and_the_restore_below_it_are_two_steps():
    assert shape("""
        ## Undo the release

        ```bash
        # Go back to the release before
        docker compose -f compose.prod.yml up -d api:previous

        # Or put the database back from the last dump
        pnpm db:restore /backups/latest.sql
        ```
    """) == [
        ("Go back to the release before", "docker compose -f compose.prod.yml up -d api:previous", False),
        ("Or put the database back from the last dump", "pnpm db:restore /backups/latest.sql", False),
    ]


def test_purge_everything_or_purge_by_tag_are_two_steps():
    steps = extract_steps(md("""
        ```bash
        # Empty the whole edge cache
        npx edgectl cache purge
        # Or only what carries one tag
        npx edgectl cache purge --tag=shop:lamps
        ```
    """))
    assert [(s.index, s.label, s.line) for s in steps] == [
        (1, "Empty the whole edge cache", 3), (2, "Or only what carries one tag", 5)]


def test_numbered_comments_label_their_command_and_the_placeholder_is_seen():
    steps = extract_steps(md("""
        ### Connections run out
        ```bash
        # 1. Look at the pool
        curl -s "$APP_URL/admin/db/pool" \\
          -H "Authorization: Bearer $ADMIN_TOKEN"

        # 2. Restart the connections
        edgectl deploy --env production --restart

        # 3. Grow the pool if needed
        edgectl pool update <ID> --max-connections=100
        ```
    """))
    assert [s.label for s in steps] == ["Look at the pool", "Restart the connections", "Grow the pool if needed"]
    assert steps[0].command.count("\n") == 1  # the continuation line stays with its command
    assert [n.shown for n in needs(steps[2], PATH, {})] == ["<ID>"]
    assert all(s.heading == "Connections run out" for s in steps)


def test_dashboard_clicks_and_sql_in_a_shell_block_are_manual_steps():
    steps = extract_steps(md("""
        1. **Roll the release back:**
           ```bash
           # Hosting
           Hosting Dashboard → Deployments → previous one → Redeploy

           # Frontend
           Frontend Dashboard → Deployments → previous one → Promote
           ```

        2. **Count connections:**
           ```bash
           # Idle ones
           SELECT pid FROM pg_stat_activity
           WHERE state = 'idle';
           ```

        3. Check the provider's status page.
        4. Tell support what we know
           - which features
           - since when
    """))
    assert [(s.label, s.command, s.manual) for s in steps] == [
        ("Hosting", "Hosting Dashboard → Deployments → previous one → Redeploy", True),
        ("Frontend", "Frontend Dashboard → Deployments → previous one → Promote", True),
        ("Idle ones", "SELECT pid FROM pg_stat_activity\nWHERE state = 'idle';", True),
        ("", "Check the provider's status page.", True),
        ("", "Tell support what we know\n- which features\n- since when", True),
    ]
    assert [s.line for s in steps] == [4, 7, 13, 17, 18]


def test_comment_only_advice_with_numbers_becomes_manual_steps():
    steps = extract_steps(md("""
        ```bash
        # How full is the store
        edgectl store info

        # When near the limit:
        # 1. Find the largest objects
        # 2. Move old data to cold storage
        ```
    """))
    assert [(s.command, s.manual) for s in steps] == [
        ("edgectl store info", False),
        ("Find the largest objects", True),
        ("Move old data to cold storage", True),
    ]


def test_a_list_item_holding_a_command_is_not_also_a_manual_step():
    steps = extract_steps(md("""
        1. **Check the health endpoint:**
           ```bash
           curl https://api.example.test/health
           ```
        2. Look at recent deployments.
    """))
    assert [(s.label, s.manual) for s in steps] == [("Check the health endpoint:", False),
                                                     ("", True)]


def test_multi_line_shell_constructs_are_one_command():
    commands = [s.command for s in extract_steps(md("""
        ```bash
        for i in 1 2 3; do
          echo "$i"
        done
        if true; then
          echo yes
        fi
        case "$1" in
          a) echo a ;;
        esac
        { echo grouped; echo too; }
        echo "$(date \\
          -u)"
        cat <<EOF | grep -c x
        x
        # not a comment
        EOF
        kubectl get pods |
          grep api
        echo one && # and then
          echo two
        ```
    """))]
    assert len(commands) == 8, commands
    assert commands[5].endswith("EOF") and "# not a comment" in commands[5]


# --- never two commands in one step (property) ----------------------------------------------

_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_./=", min_size=1, max_size=8)
_ARG = st.one_of(
    _WORD,
    _WORD.map(lambda w: f'"{w} {w}"'),
    _WORD.map(lambda w: f"'{w};{w}'"),
    _WORD.map(lambda w: f'"$(echo {w})"'),
    _WORD.map(lambda w: "${" + w.upper().replace("-", "_").replace(".", "_").replace("/", "_").replace("=", "_") + "}"),
)


@st.composite
def _command(draw) -> list[str]:
    """One command, as the lines it takes: a name and arguments, maybe continued, maybe piped."""
    name = draw(st.sampled_from(["curl", "kubectl", "echo", "psql", "redis-cli", "docker"]))
    lines = [" ".join([name, *draw(st.lists(_ARG, max_size=4))])]
    for _ in range(draw(st.integers(0, 2))):
        joiner = draw(st.sampled_from([" \\", " |", " &&"]))
        lines[-1] += joiner
        lines.append("  " + " ".join([draw(st.sampled_from(["grep", "jq", "head"])), *draw(st.lists(_ARG, max_size=3))]))
    if draw(st.booleans()):
        lines[0] = lines[0]  # keep
        lines.append("")  # a blank line after some
    return lines


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), _command()), min_size=1, max_size=6))
def test_no_step_ever_holds_two_commands(commands):
    block: list[str] = []
    expected: list[tuple[str, str]] = []
    for number, (labelled, lines) in enumerate(commands):
        label = f"step {number}" if labelled else ""
        if labelled:
            block.append(f"# {label}")
        block.extend(lines)
        expected.append((label, "\n".join(line for line in lines if line)))
    markdown = "```bash\n" + "\n".join(block) + "\n```\n"
    steps = extract_steps(markdown)
    assert [(s.label, s.command) for s in steps] == expected
    assert [p.kind for p in split_commands(block) if p.kind == "command"] == ["command"] * len(commands)


# --- placeholders: asked, filled quoted, never code -----------------------------------------

HOSTILE = [
    "$(touch pwned)",
    "`touch pwned`",
    "x; touch pwned",
    "a' ; touch pwned; echo '",
    'a" ; touch pwned; echo "',
    "line one\ntouch pwned",
    "back\\slash\\",
    "\\\"'$HOME ${PATH} !!",
    "\x1b[31mred\x1b[0m",
    "",
    "--help",
]


def test_placeholder_shapes_and_what_is_not_one():
    command = ('curl -H "Authorization: Bearer <TOKEN>" "$URL/[ENDPOINT NAME]" | grep -E "[A-Z]+" '
               "<<<'x' ; diff <(ls) <(ls -a) > out < in ; [[ -f x ]] ; echo ${X:-<DEF>} # <COMMENTED>")
    assert [(key, ctx) for _s, _e, key, ctx in placeholders(command)] == [("TOKEN", DOUBLE), ("ENDPOINT NAME", DOUBLE)]
    step = Step(1, "bash", "psql -c '[SQL QUERY]' && kubectl scale <deploy name> --replicas=${COUNT}", 1)
    assert [(n.key, n.shown, n.variable) for n in needs(step, PATH, {})] == [
        ("SQL QUERY", "[SQL QUERY]", False), ("deploy name", "<deploy name>", False), ("COUNT", "${COUNT}", True)]
    assert needs(step, {**PATH, "COUNT": "3"}, {})[-1].key == "deploy name"


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_value_runs_as_data_in_every_quoting(tmp_path, value):
    step = Step(1, "bash", "\n".join([
        "printf '[%s]\\n' <V> \"in double <V>\" 'in single <V>' FLAG_[VV]=on",
        "printf '[%s]\\n' \"$(printf '%s' <V>)\"",
        "x=`printf '%s' <V>`; printf '[%s]\\n' \"$x\"",
        "printf '[%s]\\n' \"`printf '%s' <V>`\"",
    ]), 1)
    prepared = prepare(step, PATH, {}, {"V": value, "VV": value})
    done = subprocess.run(prepared.argv, env=prepared.env, cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert not (tmp_path / "pwned").exists()
    assert list(tmp_path.iterdir()) == []
    assert done.returncode == 0, done.stderr
    trimmed = value.rstrip("\n")
    assert done.stdout.split("]\n") == [f"[{value}", f"[in double {value}", f"[in single {value}",
                                        f"[FLAG_{value}=on", f"[{trimmed}", f"[{trimmed}", f"[{trimmed}", ""]


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=30),
       st.sampled_from(["printf '%s' <V>", "printf '%s' \"x<V>y\"", "printf '%s' 'x<V>y'"]))
def test_any_value_reads_back_exactly(tmp_path_factory, value, template):
    step = Step(1, "bash", template, 1)
    prepared = prepare(step, PATH, {}, {"V": value})
    folder = tmp_path_factory.mktemp("run")
    done = subprocess.run(prepared.argv, env=prepared.env, cwd=folder, capture_output=True, timeout=30)
    expected = value if template.endswith("<V>") else f"x{value}y"
    assert done.stdout.decode("utf-8", "surrogateescape") == expected
    assert list(folder.iterdir()) == []


def test_the_final_command_shows_the_values_quoted_and_variables_go_by_environment(tmp_path):
    step = Step(4, "bash", 'echo <ID> "${SECRET_TOKEN}" && touch "done-<ID>"', 1)
    assert [n.key for n in needs(step, PATH, {})] == ["ID", "SECRET_TOKEN"]
    prepared = prepare(step, PATH, {}, {"ID": "a b", "SECRET_TOKEN": "s3cr3t-$(touch pwned)"})
    assert prepared.command == "echo 'a b' \"${SECRET_TOKEN}\" && touch \"done-a b\""
    assert prepared.given == (("SECRET_TOKEN", "s3cr3t-$(touch pwned)"),)
    assert prepared.secrets == ("s3cr3t-$(touch pwned)",)
    done = subprocess.run(prepared.argv, env=prepared.env, cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert done.stdout == "a b s3cr3t-$(touch pwned)\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["done-a b"]


def test_missing_values_and_manual_steps_are_refused_by_name():
    step = Step(2, "bash", "edgectl pool update <ID> --max=[MAX] --env ${ENV_NAME}", 1)
    with pytest.raises(UsageError, match=r"^step 2 needs <ID>, \[MAX\] and \$\{ENV_NAME\}: give a value for each$"):
        prepare(step, PATH, {}, {})
    with pytest.raises(UsageError, match="NUL byte"):
        prepare(step, PATH, {}, {"ID": "a\x00b", "MAX": "1", "ENV_NAME": "x"})
    with pytest.raises(UsageError, match="done by hand"):
        prepare(Step(3, "", "Check the status page", 1, manual=True), PATH, {})


def test_incident_fields_are_not_asked_for():
    step = Step(1, "bash", 'echo "${INCIDENT_ID}" "${TITLE}"', 1)
    assert needs(step, PATH, {"INCIDENT_ID": "INC-1", "TITLE": "t"}) == []
    assert prepare(step, PATH, {"INCIDENT_ID": "INC-1", "TITLE": "t"}).env["INCIDENT_ID"] == "INC-1"
    assert child_env(PATH, {"TITLE": "a\x1bb"})["TITLE"] != "a\x1bb"


def test_quote_for_plain_context_is_shlex():
    assert quote_for("a b", PLAIN) == shlex.quote("a b")
    assert quote_for("it's", SINGLE) == "it'\\''s"
    assert contexts("a 'b' \"c\"")[3] == SINGLE


def test_a_stopped_step_reads_as_stopped_not_as_a_negative_exit():
    assert exit_words(0) == "exit 0"
    assert exit_words(3) == "exit 3"
    assert exit_words(-signal.SIGTERM) == "stopped (SIGTERM)"
    assert exit_words(-signal.SIGKILL) == "stopped (SIGKILL)"
    assert exit_words(-999) == "stopped (signal 999)"
