//! Template text made to behave as in Ansible before minijinja compiles it, and the
//! variables a template reads, for checks before a run.
//!
//! Two differences from minijinja are bridged by rewriting the text:
//! - Ansible leaves backslashes in string literals as written (`'\1'` is a backslash and a
//!   one, as `regex_replace` wants it); minijinja would read `\1` as an octal escape.
//! - In Ansible an undefined value may be looked into (`d.b.c | default('y')`,
//!   `missing.attr is defined`): the lookup stays undefined. minijinja's strict mode stops
//!   at the second lookup, so a guarded lookup chain becomes `__chain(d, 'b', 'c')`.

use std::borrow::Cow;
use std::collections::BTreeSet;

use minijinja::machinery::{Token, WhitespaceConfig, ast, parse, parse_expr, tokenize};
use minijinja::syntax::SyntaxConfig;

/// The name of the function guarded lookup chains are rewritten into.
pub const CHAIN: &str = "__chain";

/// The name of the function a condition's unguarded lookups are rewritten into: it fails
/// with ansible-core 2.19's words where a variable or a key is missing.
pub const STRICT: &str = "__strict";

/// The text minijinja compiles for a template (or a bare expression) as Ansible writes it.
pub fn prepare(text: &str, expression: bool) -> Cow<'_, str> {
    prepare_strings(text, expression, false, false)
}

/// The text minijinja compiles for a condition (`when`, `assert.that`): as [`prepare`], but
/// its string literals read as Python reads them ([`python_unescape`]), and every lookup
/// that is not under a guard (`is defined`, `default`...) strict, as ansible-core 2.19
/// evaluates a condition: a variable or key that is missing fails it
/// (`r.exists is false` where `r` has no `exists`), where a template would carry the
/// undefined value on.
pub fn prepare_condition(text: &str) -> Cow<'_, str> {
    prepare_strings(text, true, true, true)
}

fn prepare_strings(text: &str, expression: bool, python: bool, strict: bool) -> Cow<'_, str> {
    let text = if text.contains('\\') {
        raw_strings(text, expression, python)
    } else {
        Cow::Borrowed(text)
    };
    let may_edit = strict
        || text.contains("default")
        || text.contains("defined")
        || text.contains("d(")
        || text.contains("if");
    if !may_edit {
        return text;
    }
    let Some(analysis) = analyse_with(&text, expression, strict) else {
        return text;
    };
    if analysis.edits.is_empty() {
        return text;
    }
    let mut edits = analysis.edits;
    edits.sort_by_key(|(start, _, _)| std::cmp::Reverse(*start));
    let mut out = text.into_owned();
    let mut limit = out.len();
    for (start, end, replacement) in edits {
        // Nested guards inside an already rewritten chain are left as they are.
        if end > limit {
            continue;
        }
        out.replace_range(start..end, &replacement);
        limit = start;
    }
    Cow::Owned(out)
}

/// Re-escape string literals so that minijinja reads back exactly the characters written
/// (`python`: the characters Python reads from them).
fn raw_strings(text: &str, expression: bool, python: bool) -> Cow<'_, str> {
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    for token in tokenize(
        text,
        expression,
        SyntaxConfig::default(),
        WhitespaceConfig::default(),
    ) {
        let Ok((token, span)) = token else {
            return Cow::Borrowed(text);
        };
        if !matches!(token, Token::Str(_) | Token::String(_)) {
            continue;
        }
        let (start, end) = (span.start_offset as usize, span.end_offset as usize);
        let Some(literal) = text.get(start..end) else {
            return Cow::Borrowed(text);
        };
        if !literal.contains('\\') || literal.len() < 2 {
            continue;
        }
        let quote = literal.chars().next().unwrap_or('"');
        let body = &literal[1..literal.len() - 1];
        // ansible-core 2.19.14 keeps a template's backslashes as written (also in a
        // template that is one expression), but reads a condition's string literals as
        // Python reads them.
        let value = if python {
            python_unescape(body)
        } else {
            body.to_owned()
        };
        let mut escaped = String::with_capacity(value.len() * 2);
        escaped.push(quote);
        for c in value.chars() {
            if c == '\\' || c == quote {
                escaped.push('\\');
            }
            escaped.push(c);
        }
        escaped.push(quote);
        edits.push((start, end, escaped));
    }
    if edits.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_owned();
    for (start, end, replacement) in edits.into_iter().rev() {
        out.replace_range(start..end, &replacement);
    }
    Cow::Owned(out)
}

/// A string literal's body as Python reads it: `\\n`, `\\t`, `\\\\`, `\\'`, `\\"`, octal
/// `\\1`, `\\x41`, `\\u00e9`, `\\U0001F600`, a backslash before a line end dropped; any other
/// backslash kept, as Python keeps it (`\\d`).
fn python_unescape(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(next) = chars.next() else {
            out.push('\\');
            break;
        };
        let simple = match next {
            '\n' => Some(None),
            '\\' | '\'' | '"' => Some(Some(next)),
            'a' => Some(Some('\u{7}')),
            'b' => Some(Some('\u{8}')),
            'f' => Some(Some('\u{c}')),
            'n' => Some(Some('\n')),
            'r' => Some(Some('\r')),
            't' => Some(Some('\t')),
            'v' => Some(Some('\u{b}')),
            _ => None,
        };
        if let Some(simple) = simple {
            out.extend(simple);
            continue;
        }
        let (radix, digits) = match next {
            '0'..='7' => (8, 3),
            'x' => (16, 2),
            'u' => (16, 4),
            'U' => (16, 8),
            _ => (0, 0),
        };
        if radix == 0 {
            out.push('\\');
            out.push(next);
            continue;
        }
        let mut code = String::new();
        if radix == 8 {
            code.push(next);
        }
        while code.len() < digits {
            match chars.peek() {
                Some(d) if d.is_digit(radix) => {
                    code.push(*d);
                    chars.next();
                }
                _ => break,
            }
        }
        let full = radix == 8 || code.len() == digits;
        match u32::from_str_radix(&code, radix)
            .ok()
            .filter(|_| full)
            .and_then(char::from_u32)
        {
            Some(decoded) => out.push(decoded),
            // Python refuses these; kept as written, as a template keeps them.
            None => {
                out.push('\\');
                if radix != 8 {
                    out.push(next);
                }
                out.push_str(&code);
            }
        }
    }
    out
}

/// A variable a template reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Use {
    pub name: String,
    /// Read under `default` or a `defined` / `undefined` test: it may be unset.
    pub guarded: bool,
    /// Read only on some paths (`a and b`, `x if c else y`, inside `{% if %}` or a loop).
    pub conditional: bool,
    /// Where it is first read in the text, 1-based line and column (in characters).
    pub line: u32,
    pub column: u32,
}

/// The variables a template reads at its top level, and the guarded chains to rewrite.
#[derive(Debug, Default)]
pub struct Analysis {
    pub uses: Vec<Use>,
    /// Names the template sets itself (`{% set %}`, loop targets, macro arguments).
    pub locals: BTreeSet<String>,
    /// The filters and tests it applies, each with the place of its first use (where the
    /// expression it applies to starts).
    pub filters: std::collections::BTreeMap<String, (u32, u32)>,
    pub tests: std::collections::BTreeMap<String, (u32, u32)>,
    edits: Vec<(usize, usize, String)>,
}

impl Analysis {
    /// Variables read on every path, without a guard: they must be set.
    pub fn required(&self) -> Vec<String> {
        self.required_uses()
            .into_iter()
            .map(|found| found.name.clone())
            .collect()
    }

    /// The first read of each variable [`Analysis::required`] names, with its place.
    pub fn required_uses(&self) -> Vec<&Use> {
        let mut first: Vec<&Use> = Vec::new();
        for found in &self.uses {
            if !found.guarded
                && !found.conditional
                && !self.locals.contains(&found.name)
                && !first.iter().any(|seen| seen.name == found.name)
            {
                first.push(found);
            }
        }
        first
    }
}

/// Parse a template (or expression) and walk it; `None` when it does not parse.
pub fn analyse(text: &str, expression: bool) -> Option<Analysis> {
    analyse_with(text, expression, false)
}

/// [`analyse`], with (`strict`) the edits that make a condition's unguarded lookups strict.
fn analyse_with(text: &str, expression: bool, strict: bool) -> Option<Analysis> {
    let mut walk = Walk {
        source: text,
        analysis: Analysis::default(),
        strict,
    };
    if expression {
        let expr = parse_expr(text).ok()?;
        walk.expr(&expr, false);
    } else {
        let stmt = parse(
            text,
            "<template>",
            SyntaxConfig::default(),
            WhitespaceConfig::default(),
        )
        .ok()?;
        walk.stmt(&stmt, false);
    }
    Some(walk.analysis)
}

struct Walk<'s> {
    source: &'s str,
    analysis: Analysis,
    /// Rewrite unguarded lookups into [`STRICT`] calls (a condition's expression).
    strict: bool,
}

impl Walk<'_> {
    fn text(&self, span: minijinja::machinery::Span) -> &str {
        self.source
            .get(span.start_offset as usize..span.end_offset as usize)
            .unwrap_or("")
    }

    /// A span's 1-based line and column in characters (minijinja counts bytes from 0).
    fn position(&self, span: minijinja::machinery::Span) -> (u32, u32) {
        let start = (span.start_offset as usize).min(self.source.len());
        let before = self.source.get(..start).unwrap_or("");
        let line_start = before.rfind('\n').map_or(0, |at| at + 1);
        (
            before.matches('\n').count() as u32 + 1,
            before[line_start..].chars().count() as u32 + 1,
        )
    }

    fn use_var(
        &mut self,
        name: &str,
        guarded: bool,
        conditional: bool,
        span: minijinja::machinery::Span,
    ) {
        let (line, column) = self.position(span);
        self.analysis.uses.push(Use {
            name: name.to_owned(),
            guarded,
            conditional,
            line,
            column,
        });
    }

    fn local(&mut self, target: &ast::Expr<'_>) {
        match target {
            ast::Expr::Var(var) => {
                self.analysis.locals.insert(var.id.to_owned());
            }
            ast::Expr::List(list) => list.items.iter().for_each(|item| self.local(item)),
            _ => {}
        }
    }

    fn body(&mut self, stmts: &[ast::Stmt<'_>]) {
        for stmt in stmts {
            self.stmt(stmt, true);
        }
    }

    fn stmt(&mut self, stmt: &ast::Stmt<'_>, cond: bool) {
        match stmt {
            ast::Stmt::Template(t) => t.children.iter().for_each(|s| self.stmt(s, cond)),
            ast::Stmt::EmitExpr(e) => self.expr(&e.expr, cond),
            ast::Stmt::ForLoop(f) => {
                self.expr(&f.iter, cond);
                self.local(&f.target);
                self.analysis.locals.insert("loop".to_owned());
                if let Some(filter) = &f.filter_expr {
                    self.expr(filter, true);
                }
                self.body(&f.body);
                self.body(&f.else_body);
            }
            ast::Stmt::IfCond(i) => {
                self.expr(&i.expr, cond);
                self.body(&i.true_body);
                self.body(&i.false_body);
            }
            ast::Stmt::WithBlock(w) => {
                for (target, value) in &w.assignments {
                    self.expr(value, cond);
                    self.local(target);
                }
                w.body.iter().for_each(|s| self.stmt(s, cond));
            }
            ast::Stmt::Set(s) => {
                self.expr(&s.expr, cond);
                self.local(&s.target);
            }
            ast::Stmt::SetBlock(s) => {
                self.local(&s.target);
                if let Some(filter) = &s.filter {
                    self.expr(filter, cond);
                }
                s.body.iter().for_each(|st| self.stmt(st, cond));
            }
            ast::Stmt::AutoEscape(a) => a.body.iter().for_each(|s| self.stmt(s, cond)),
            ast::Stmt::FilterBlock(f) => {
                self.expr(&f.filter, cond);
                f.body.iter().for_each(|s| self.stmt(s, cond));
            }
            ast::Stmt::Macro(m) => {
                self.analysis.locals.insert(m.name.to_owned());
                m.args.iter().for_each(|arg| self.local(arg));
                m.defaults.iter().for_each(|d| self.expr(d, true));
                self.body(&m.body);
            }
            ast::Stmt::CallBlock(c) => {
                self.call(&c.call, cond);
                self.body(&c.macro_decl.body);
            }
            ast::Stmt::Do(d) => self.call(&d.call, cond),
            // `{% import 'x' as x %}` and `{% from 'x' import a as b %}` bind names.
            ast::Stmt::Import(i) => {
                self.expr(&i.expr, cond);
                self.local(&i.name);
            }
            ast::Stmt::FromImport(i) => {
                self.expr(&i.expr, cond);
                for (name, alias) in &i.names {
                    self.local(alias.as_ref().unwrap_or(name));
                }
            }
            _ => {}
        }
    }

    fn call(&mut self, call: &ast::Call<'_>, cond: bool) {
        self.expr(&call.expr, cond);
        self.args(&call.args, cond);
    }

    fn args(&mut self, args: &[ast::CallArg<'_>], cond: bool) {
        for arg in args {
            match arg {
                ast::CallArg::Pos(e)
                | ast::CallArg::Kwarg(_, e)
                | ast::CallArg::PosSplat(e)
                | ast::CallArg::KwargSplat(e) => self.expr(e, cond),
            }
        }
    }

    fn expr(&mut self, expr: &ast::Expr<'_>, cond: bool) {
        if self.strict && self.strict_lookup(expr, cond) {
            return;
        }
        match expr {
            ast::Expr::Var(var) => self.use_var(var.id, false, cond, var.span()),
            ast::Expr::Const(_) => {}
            ast::Expr::Slice(s) => {
                self.expr(&s.expr, cond);
                for part in [&s.start, &s.stop, &s.step].into_iter().flatten() {
                    self.expr(part, cond);
                }
            }
            ast::Expr::UnaryOp(u) => self.expr(&u.expr, cond),
            ast::Expr::BinOp(b) => {
                self.expr(&b.left, cond);
                let short_circuit = matches!(b.op, ast::BinOpKind::ScAnd | ast::BinOpKind::ScOr);
                self.expr(&b.right, cond || short_circuit);
            }
            ast::Expr::Compare(c) => {
                self.expr(&c.expr, cond);
                c.ops.iter().for_each(|op| self.expr(&op.expr, cond));
            }
            ast::Expr::IfExpr(i) => {
                self.expr(&i.test_expr, cond);
                self.expr(&i.true_expr, true);
                match &i.false_expr {
                    Some(other) => self.expr(other, true),
                    None => {
                        // Jinja's `x if c` without `else` prints nothing when `c` is false.
                        let end = i.span().end_offset as usize;
                        self.analysis
                            .edits
                            .push((end, end, " else none".to_owned()));
                    }
                }
            }
            ast::Expr::Filter(f) => {
                let at = self.position(f.span());
                self.analysis.filters.entry(f.name.to_owned()).or_insert(at);
                let guard = matches!(f.name, "default" | "d");
                if let Some(inner) = &f.expr {
                    if guard {
                        self.guarded(inner, cond);
                    } else if f.name == "mandatory" {
                        // It fails with its own message on a missing value.
                        self.lenient(|walk| walk.expr(inner, cond));
                    } else {
                        self.expr(inner, cond);
                    }
                }
                self.args(&f.args, cond || guard);
            }
            ast::Expr::Test(t) => {
                let at = self.position(t.span());
                self.analysis.tests.entry(t.name.to_owned()).or_insert(at);
                if matches!(t.name, "defined" | "undefined") {
                    self.guarded(&t.expr, cond);
                } else {
                    self.expr(&t.expr, cond);
                }
                self.args(&t.args, cond);
            }
            ast::Expr::GetAttr(g) => self.expr(&g.expr, cond),
            ast::Expr::GetItem(g) => {
                self.expr(&g.expr, cond);
                self.expr(&g.subscript_expr, cond);
            }
            ast::Expr::Call(c) => {
                // A method's object is looked up (strictly in a condition), its name is not.
                match &c.expr {
                    ast::Expr::GetAttr(method) => self.expr(&method.expr, cond),
                    ast::Expr::Var(var) => self.use_var(var.id, false, cond, var.span()),
                    other => self.expr(other, cond),
                }
                self.args(&c.args, cond);
            }
            // ansible-core 2.19 carries a missing value inside a list or mapping on (it
            // fails where it is used): lookups in these stay lenient.
            ast::Expr::List(l) => self.lenient(|walk| {
                l.items.iter().for_each(|item| walk.expr(item, cond));
            }),
            ast::Expr::Map(m) => self.lenient(|walk| {
                m.keys.iter().for_each(|k| walk.expr(k, cond));
                m.values.iter().for_each(|v| walk.expr(v, cond));
            }),
        }
    }

    fn lenient(&mut self, walk: impl FnOnce(&mut Self)) {
        let strict = std::mem::replace(&mut self.strict, false);
        walk(self);
        self.strict = strict;
    }

    /// In a condition: a variable, or a lookup chain from one (`r.exists`, `l[0].x`),
    /// rewritten into `__strict('r', (r), 'exists')`, which fails naming what is missing.
    /// The subscripts of the chain are read leniently (their text is copied as written).
    fn strict_lookup(&mut self, expr: &ast::Expr<'_>, cond: bool) -> bool {
        let (keys, subscripts, base) = self.lookup_chain(expr);
        let mut keys: Vec<String> = keys
            .into_iter()
            .map(|(key, subscript)| if subscript { format!("({key})") } else { key })
            .collect();
        let ast::Expr::Var(var) = base else {
            return false;
        };
        let base_text = self.text(var.span()).to_owned();
        if base_text != var.id || keys.iter().any(|key| key == "()") {
            return false;
        }
        self.use_var(var.id, false, cond, var.span());
        self.lenient(|walk| {
            subscripts
                .iter()
                .for_each(|subscript| walk.expr(subscript, cond));
        });
        keys.reverse();
        let mut replacement = format!("{STRICT}('{}', ({base_text})", var.id);
        for key in keys {
            replacement.push_str(", ");
            replacement.push_str(&key);
        }
        replacement.push(')');
        self.analysis.edits.push((
            var.span().start_offset as usize,
            expr.span().end_offset as usize,
            replacement,
        ));
        true
    }

    /// A lookup chain (`r.exists`, `l[0].x`) taken apart, outermost key first: each key's
    /// text (an attribute quoted, `'exists'`; a subscript as written, marked `true`), the
    /// subscripts' expressions, and the expression the chain starts from.
    fn lookup_chain<'x, 'a>(
        &self,
        expr: &'x ast::Expr<'a>,
    ) -> (
        Vec<(String, bool)>,
        Vec<&'x ast::Expr<'a>>,
        &'x ast::Expr<'a>,
    ) {
        let mut keys = Vec::new();
        let mut subscripts = Vec::new();
        let mut base = expr;
        loop {
            match base {
                ast::Expr::GetAttr(g) => {
                    keys.push((format!("'{}'", g.name), false));
                    base = &g.expr;
                }
                ast::Expr::GetItem(g) if !matches!(g.subscript_expr, ast::Expr::Slice(_)) => {
                    keys.push((self.text(g.subscript_expr.span()).to_owned(), true));
                    subscripts.push(&g.subscript_expr);
                    base = &g.expr;
                }
                _ => break,
            }
        }
        (keys, subscripts, base)
    }

    /// An expression under `default` or `is defined`: its variable may be unset, and a
    /// lookup chain in it is rewritten to stay undefined instead of failing.
    fn guarded(&mut self, expr: &ast::Expr<'_>, cond: bool) {
        let (keys, subscripts, base) = self.lookup_chain(expr);
        let mut keys: Vec<String> = keys.into_iter().map(|(key, _)| key).collect();
        self.lenient(|walk| {
            for subscript in subscripts {
                walk.expr(subscript, cond);
            }
        });
        // Only a chain that starts at a variable can start undefined; any other start (a
        // filter, a call, a literal) is a value, and looking into it already stays
        // undefined where a key is missing.
        let ast::Expr::Var(var) = base else {
            self.expr(base, cond);
            return;
        };
        self.use_var(var.id, true, cond, var.span());
        if keys.is_empty() || keys.iter().any(String::is_empty) {
            return;
        }
        let base_span = base.span();
        let base_text = self.text(base_span).to_owned();
        if base_text.is_empty() {
            return;
        }
        keys.reverse();
        let replacement = format!("{CHAIN}(({base_text}), {})", keys.join(", "));
        self.analysis.edits.push((
            base_span.start_offset as usize,
            expr.span().end_offset as usize,
            replacement,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backslashes_in_literals_stay_as_written() {
        assert_eq!(prepare(r"{{ 'a\1' }}", false), r"{{ 'a\\1' }}");
        assert_eq!(prepare(r#"{{ "q\"x" }}"#, false), r#"{{ "q\\\"x" }}"#);
        assert_eq!(prepare(r"{{ x }} \1", false), r"{{ x }} \1");
    }

    #[test]
    fn guarded_chains_are_rewritten() {
        assert_eq!(
            prepare("{{ d.b.c | default('y') }}", false),
            "{{ __chain((d), 'b', 'c') | default('y') }}"
        );
        assert_eq!(
            prepare("missing['a'].b is not defined", true),
            "__chain((missing), 'a', 'b') is not defined"
        );
        assert_eq!(prepare("x | default(1)", true), "x | default(1)");
        // A chain that starts at a value, not a variable, is left alone.
        assert_eq!(
            prepare("{{ (x | default({})).a | default(1) }}", false),
            "{{ (x | default({})).a | default(1) }}"
        );
        assert_eq!(
            prepare("a{{ 'x' if c }}b", false),
            "a{{ 'x' if c else none }}b"
        );
    }

    #[test]
    fn names_bound_by_import_are_not_required() {
        // ansible-core's template target, `import_with_context.j2`.
        let analysis = analyse(
            "{% import 'qux' as qux with context %}{% from 'm' import a as b, c %}{{ qux.wibble }}{{ b }}{{ c }}{{ d }}",
            false,
        )
        .unwrap();
        let missing: Vec<&str> = analysis
            .uses
            .iter()
            .filter(|found| !analysis.locals.contains(&found.name))
            .map(|found| found.name.as_str())
            .collect();
        assert_eq!(missing, ["d"]);
    }

    #[test]
    fn required_variables_skip_guards_and_branches() {
        let required = |text: &str, expression: bool| analyse(text, expression).unwrap().required();
        assert_eq!(
            required("maybe is defined and maybe == 'x'", true),
            Vec::<String>::new()
        );
        assert_eq!(
            required("{{ nope is undefined }}", false),
            Vec::<String>::new()
        );
        assert_eq!(
            required("{{ missing.attr | default('z') }}", false),
            Vec::<String>::new()
        );
        assert_eq!(
            required("{{ typo }}/{{ a if b else c }}", false),
            ["typo", "b"]
        );
        assert_eq!(
            required(
                "{% set x = 1 %}{{ x }}{% for i in items %}{{ i }}{{ y }}{% endfor %}",
                false
            ),
            ["items"]
        );
        assert_eq!(
            required("{{ a | default(b) }}", false),
            Vec::<String>::new()
        );
    }
}
