"""Functions of x typed by a user, parsed into a syntax tree and evaluated node by node (never `eval`).

The grammar is Python's expression syntax restricted to numbers, the name x, the constants pi and e,
+ - * / // % **, comparisons (for where), and calls of the NumPy functions in FUNCTIONS. Numbers are
float64 arrays from the start, so 9**9**9 overflows to inf instead of building a huge Python integer.
"""
from __future__ import annotations

import ast
import operator
from typing import Any, Callable

from ..backend import xp
from .options import UserError

MAX_LENGTH = 500  # characters; a longer expression is almost surely pasted by mistake
FUNCTIONS: dict[str, Callable[..., Any]] = {
    name: getattr(xp, name) for name in ("sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh", "where", "minimum",
                                         "maximum", "sign", "floor", "arctan", "clip", "sinh", "cosh", "ceil")}
ARITY = {**{name: 1 for name in FUNCTIONS}, "where": 3, "minimum": 2, "maximum": 2, "clip": 3}
CONSTANTS = {"pi": xp.pi, "e": xp.e}
_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_COMPARE = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
            ast.Eq: operator.eq, ast.NotEq: operator.ne}


def parse(text: str) -> ast.expr:
    """The checked syntax tree of an expression in x; UserError says what is not allowed, and where."""
    if not isinstance(text, str) or not text.strip():
        raise UserError("the function is empty: type an expression in x, e.g. sin(2*pi*x)")
    if len(text) > MAX_LENGTH:
        raise UserError(f"the function is {len(text)} characters long; at most {MAX_LENGTH} are accepted")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as error:
        where = f" at column {error.offset}" if error.offset else ""
        raise UserError(f"cannot parse function {text!r}: {error.msg}{where}") from None
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    for node in ast.walk(tree):
        _check_node(node, text)
        if isinstance(node, ast.Name) and node.id in FUNCTIONS and id(node) not in called:
            raise UserError(f"function {text!r}: {node.id} is a function: call it, e.g. {node.id}(x)")
    return tree


def _check_node(node: ast.AST, text: str) -> None:
    allowed = (ast.BinOp, ast.UnaryOp, ast.Compare, ast.Call, ast.Name, ast.Constant, ast.Load, ast.operator,
               ast.unaryop, ast.cmpop)
    if not isinstance(node, allowed):
        raise UserError(f"function {text!r}: {type(node).__name__.lower()} expressions are not allowed; use numbers, "
                        f"x, {', '.join(CONSTANTS)}, + - * / // % ** and the functions {', '.join(sorted(FUNCTIONS))}")
    if isinstance(node, ast.BinOp) and type(node.op) not in _BINARY or \
            isinstance(node, ast.UnaryOp) and type(node.op) not in _UNARY:
        raise UserError(f"function {text!r}: the operator {type(node.op).__name__} is not allowed")
    if isinstance(node, ast.Compare) and any(type(op) not in _COMPARE for op in node.ops):
        raise UserError(f"function {text!r}: only the comparisons < <= > >= == != are allowed")
    if isinstance(node, ast.Constant) and (isinstance(node.value, bool) or not isinstance(node.value, (int, float))):
        raise UserError(f"function {text!r}: {node.value!r} is not a number")
    if isinstance(node, ast.Name) and node.id not in ("x", *CONSTANTS, *FUNCTIONS):
        raise UserError(f"function {text!r} uses the unknown name {node.id!r}; available: x, "
                        f"{', '.join(CONSTANTS)}, {', '.join(sorted(FUNCTIONS))}")
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id not in FUNCTIONS:
        raise UserError(f"function {text!r} uses the unknown name {node.func.id!r}; the functions are "
                        f"{', '.join(sorted(FUNCTIONS))}")
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise UserError(f"function {text!r}: only the functions {', '.join(sorted(FUNCTIONS))} can be called")
        if node.keywords or len(node.args) != ARITY[node.func.id]:  # a second argument of sin() would be its out=
            count = ARITY[node.func.id]
            raise UserError(f"function {text!r}: {node.func.id}() takes {count} positional argument"
                            f"{'s' if count > 1 else ''}")


def evaluate(tree: ast.expr, x: Any) -> Any:
    """The value of a checked tree at x (a float64 array), elementwise, with NumPy's rules for inf and nan."""
    if isinstance(tree, ast.Constant):
        return xp.float64(tree.value)
    if isinstance(tree, ast.Name):
        if tree.id == "x":
            return x
        return xp.float64(CONSTANTS[tree.id])
    if isinstance(tree, ast.UnaryOp):
        return _UNARY[type(tree.op)](evaluate(tree.operand, x))
    if isinstance(tree, ast.BinOp):
        return _BINARY[type(tree.op)](evaluate(tree.left, x), evaluate(tree.right, x))
    if isinstance(tree, ast.Compare):
        left, result = evaluate(tree.left, x), True
        for op, right_node in zip(tree.ops, tree.comparators):
            right = evaluate(right_node, x)
            result = result & _COMPARE[type(op)](left, right)
            left = right
        return result
    if isinstance(tree, ast.Call):
        return FUNCTIONS[tree.func.id](*(evaluate(argument, x) for argument in tree.args))
    raise UserError(f"cannot evaluate {type(tree).__name__}")  # parse() lets no other node through


def compile_function(text: str) -> Callable[[Any], Any]:
    """f(x) for an expression in x: parsed and checked once, then evaluated elementwise at any float64 array x."""
    tree = parse(text)

    def f(x: Any) -> Any:
        x = xp.asarray(x, dtype=xp.float64)
        with xp.errstate(all="ignore"):
            values = evaluate(tree, x)
        return xp.broadcast_to(xp.asarray(values, dtype=xp.float64), x.shape)
    return f
