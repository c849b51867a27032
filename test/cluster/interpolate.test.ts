/**
 * Compose's substitution rules, case by case. The cases follow the Compose Specification's "Interpolation"
 * section and the behaviour compose-go's template package pins in its tests (written here anew): FOO is set
 * to "first", BAR is set but empty, anything else is unset.
 */
import t from 'tap';
import { substitute, TemplateError, type Reference } from '../../src/cluster/interpolate.js';

const vars: Record<string, string> = { FOO: 'first', BAR: '' };
const lookup = (n: string): string | undefined => vars[n];
const sub = (s: string) => substitute(s, lookup);

t.test('values: plain, braced, escaped, and a $ that is not a reference', async (t) => {
  const rows: Array<[string, string]> = [
    ['no dollar', 'no dollar'],
    ['$FOO', 'first'],
    ['${FOO}', 'first'],
    ['x$FOO-bar', 'xfirst-bar'],
    ['$FOO_bar', ''],
    ['${FOO}_bar', 'first_bar'],
    ['$$FOO', '$FOO'],
    ['$${FOO}', '${FOO}'],
    ['$$$FOO', '$first'],
    ['a $ string', 'a $ string'],
    ['^REGEX$', '^REGEX$'],
    ['$}', '$}'],
    ['$', '$'],
    ['$1 and $-', '$1 and $-'],
    ['This ${missing} var', 'This  var'],
    ['This ${BAR} var', 'This  var'],
    ['${FOO}${FOO}', 'firstfirst'],
  ];
  for (const [tpl, want] of rows) t.equal(sub(tpl), want, tpl);
});

t.test('defaults, alternatives and their precedence', async (t) => {
  const rows: Array<[string, string]> = [
    ['ok ${missing:-def}', 'ok def'],
    ['ok ${missing-def}', 'ok def'],
    ['ok ${BAR:-def}', 'ok def'],
    ['ok ${BAR-def}', 'ok '],
    ['ok ${FOO:-def}', 'ok first'],
    ['ok ${missing:+alt}', 'ok '],
    ['ok ${missing+alt}', 'ok '],
    ['ok ${FOO:+alt}', 'ok alt'],
    ['ok ${FOO+alt}', 'ok alt'],
    ['ok ${BAR+alt}', 'ok alt'],
    ['ok ${BAR:+alt}', 'ok '],
    ['ok ${BAR:-/non:-alphanumeric}', 'ok /non:-alphanumeric'],
    ['${missing-a:-b}', 'a:-b'],
    ['${missing:-a-b}', 'a-b'],
    ['${missing-myerror?msg}', 'myerror?msg'],
    ['${FOO?bar-baz}', 'first'],
    ['${FOO:?err}', 'first'],
    ['${BAR?err}', ''],
    [':-ok ${missing-x}', ':-ok x'],
    ['+ok ${BAR-x}', '+ok '],
    ['?ok ${BAR:-x}', '?ok x'],
  ];
  for (const [tpl, want] of rows) t.equal(sub(tpl), want, tpl);
});

t.test('nesting: defaults are templates themselves, and braces balance', async (t) => {
  const rows: Array<[string, string]> = [
    ['ok ${missing-$FOO}', 'ok first'],
    ['ok ${missing-${FOO}}', 'ok first'],
    ['ok ${missing-${FOO} ${FOO}}', 'ok first first'],
    ['ok ${BAR:-${FOO}}', 'ok first'],
    ['ok ${BAR+$FOO ${FOO:+second}}', 'ok first second'],
    ['+ok ${missing:-${BAR-defaultValue}}', '+ok '],
    ['${missing:-${missing2:-${FOO}}}!', 'first!'],
    ['${missing:-{a}}b', '{a}b'],
    ['${missing:-$${FOO}}', '${FOO}'],
  ];
  for (const [tpl, want] of rows) t.equal(sub(tpl), want, tpl);
});

t.test('required variables: the error names the variable and carries the message', async (t) => {
  const rows: Array<[string, string]> = [
    ['not ok ${missing:?Mandatory Variable Unset}', 'required variable missing is missing a value: Mandatory Variable Unset'],
    ['not ok ${BAR:?Mandatory Variable Empty}', 'required variable BAR is missing a value: Mandatory Variable Empty'],
    ['not ok ${missing:?}', 'required variable missing is missing a value'],
    ['not ok ${missing?Mandatory Variable Unset}', 'required variable missing is missing a value: Mandatory Variable Unset'],
    ['not ok ${missing?msg ${FOO}}', 'required variable missing is missing a value: msg first'],
    ['${missing?bar-baz}', 'required variable missing is missing a value: bar-baz'],
  ];
  for (const [tpl, message] of rows) {
    const err = t.throws(() => sub(tpl), tpl) as TemplateError;
    t.ok(err instanceof TemplateError, `${tpl}: a TemplateError`);
    t.equal(err.kind, 'required');
    t.equal(err.message, message);
    t.equal(err.variable, /variable (\S+)/.exec(message)?.[1]);
  }
});

t.test('invalid templates', async (t) => {
  for (const tpl of ['${', '${}', '${ }', '${ foo}', '${foo }', '${foo!}', '${foo:}', '${1abc}', 'x ${FOO:-a', '${FOO:-a\n}']) {
    const err = t.throws(() => sub(tpl), JSON.stringify(tpl)) as TemplateError;
    t.equal(err.kind, 'invalid', JSON.stringify(tpl));
  }
});

t.test('the output of a substitution is not substituted again', async (t) => {
  t.equal(substitute('${X}', () => '$FOO ${BAR:-x} $$'), '$FOO ${BAR:-x} $$');
});

t.test('unset and used references are reported, with their form', async (t) => {
  const unset: Reference[] = [];
  const used: Reference[] = [];
  substitute('$A ${B} ${C-x} ${FOO} $FOO ${D:-$E}', lookup, { unset: (r) => void unset.push(r), used: (r) => void used.push(r) });
  t.same(unset, [{ name: 'A', braced: false }, { name: 'B', braced: true }, { name: 'E', braced: false }], 'C has a default; E is read even in an unused default, as compose-go does');
  t.same(used, [{ name: 'FOO', braced: true }, { name: 'FOO', braced: false }]);
});
