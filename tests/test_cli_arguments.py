"""Every numeric option of every command refuses bad values at parse time with one line naming the option."""
from __future__ import annotations

import argparse

import pytest

from nnci.cli import build_parser, main

BAD_VALUES = ["abc", "nan", "inf", "-1e9", "1e12", ""]


def numeric_options():
    """(command words, option string) for each option whose type is one of nnci's checked number types."""
    found = []

    def walk(parser: argparse.ArgumentParser, words: list[str]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    walk(child, words + [name])
            elif action.option_strings and getattr(action.type, "__name__", "") in ("integer", "number", "numbers",
                                                                                       "_thread_count"):
                found.append((tuple(words), action.option_strings[-1]))
    walk(build_parser(), [])
    return found


OPTIONS = numeric_options()


def test_every_int_and_float_option_is_checked():
    """No option takes a bare int or float (which accepts nan, inf, negative budgets and absurd sizes)."""
    loose = []

    def walk(parser, words):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    walk(child, words + [name])
            elif action.type in (int, float):
                loose.append((" ".join(words), action.option_strings))
    walk(build_parser(), [])
    assert not loose, loose
    assert len(OPTIONS) > 50


@pytest.mark.parametrize("words,option", OPTIONS, ids=[" ".join(w) + " " + o for w, o in OPTIONS])
def test_bad_numbers_are_refused_naming_the_option(words, option, capsys):
    for value in BAD_VALUES:
        with pytest.raises(SystemExit) as exit_info:
            main([*words, f"{option}={value}"])
        assert exit_info.value.code == 2, (words, option, value)
        err = capsys.readouterr().err
        assert option in err and "Traceback" not in err, err
        assert len(err.strip().splitlines()) == 1 and err.startswith("nnci") and "error:" in err, err


def test_an_internal_error_is_one_line_and_a_report(monkeypatch, capsys):
    import nnci.cli as cli

    def broken(args):
        raise ZeroDivisionError("division by zero")
    parser = cli.build_parser()
    real = parser.parse_args

    def parse(argv=None):
        args = real(argv)
        args.run = broken
        return args
    monkeypatch.setattr(parser, "parse_args", parse)
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    assert cli.main(["demo"]) == 70
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "internal error: ZeroDivisionError" in err
    report = err.split("full report: ")[1].rstrip(")")
    with open(report) as handle:
        assert "Traceback" in handle.read()
