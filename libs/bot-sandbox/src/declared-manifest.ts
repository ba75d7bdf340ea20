import { parse } from 'acorn';
import type {
  AnonymousClassDeclaration,
  ClassDeclaration,
  ClassExpression,
  Expression,
  Identifier,
  ModuleDeclaration,
  ObjectExpression,
  Program,
  Statement,
} from 'acorn';

/**
 * What a bot declares, read from its source without running it (issue 11, item 4): the API never
 * evaluates bot code, whichever launcher runs the hooks. The source must parse as an ES module
 * whose bot class (its default export, or its one top-level class) may carry a
 * `static manifest = { … }` written as a literal: objects, arrays, strings, numbers, booleans and
 * null, nothing computed.
 */
export type DeclaredManifest =
  | { readonly ok: true; readonly manifest: Record<string, unknown> | null }
  | { readonly ok: false; readonly error: string };

/** Nesting a manifest literal may have (the manifest itself is at most 8 KiB). */
const MAX_DEPTH = 16;

export function readDeclaredManifest(source: string): DeclaredManifest {
  let program: Program;
  try {
    program = parse(source, { ecmaVersion: 'latest', sourceType: 'module', locations: true });
  } catch (error) {
    return { ok: false, error: `SyntaxError: ${(error as Error).message}` };
  }
  const imported = program.body.find(
    (statement) =>
      statement.type === 'ImportDeclaration' ||
      ((statement.type === 'ExportNamedDeclaration' || statement.type === 'ExportAllDeclaration') &&
        statement.source),
  );
  if (imported && 'source' in imported && imported.source) {
    const from = String(imported.source.value).slice(0, 64);
    return { ok: false, error: `imports are not available to bots (tried "${from}")` };
  }
  const found = botClass(program);
  if ('error' in found) return { ok: false, error: found.error };
  const declaration = found.class.body.body.find(
    (member) =>
      member.type === 'PropertyDefinition' &&
      member.static &&
      !member.computed &&
      keyName(member.key) === 'manifest',
  );
  if (!declaration || declaration.type !== 'PropertyDefinition' || !declaration.value) {
    return { ok: true, manifest: null };
  }
  try {
    const manifest = literal(declaration.value, 0);
    if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) {
      return { ok: false, error: 'static manifest must be a plain object' };
    }
    return { ok: true, manifest: manifest as Record<string, unknown> };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

type AnyClass = ClassDeclaration | ClassExpression | AnonymousClassDeclaration;

/** The bot class: the default export, or the one top-level class of a source with no exports. */
function botClass(program: Program): { class: AnyClass } | { error: string } {
  const body = program.body;
  const classes = new Map<string, AnyClass>();
  for (const statement of body) {
    const declared = declaredClass(statement);
    if (declared) classes.set(declared.name, declared.node);
  }
  for (const statement of body) {
    if (statement.type === 'ExportDefaultDeclaration') {
      const value = statement.declaration;
      if (value.type === 'ClassDeclaration' || value.type === 'ClassExpression') {
        return { class: value };
      }
      if (value.type === 'Identifier' && classes.has(value.name)) {
        return { class: classes.get(value.name) as AnyClass };
      }
      return { error: 'the default export must be the bot class' };
    }
    if (statement.type === 'ExportNamedDeclaration') {
      for (const specifier of statement.specifiers) {
        if (keyName(specifier.exported) !== 'default') continue;
        const local = keyName(specifier.local);
        const named = local === null ? undefined : classes.get(local);
        return named ? { class: named } : { error: 'the default export must be the bot class' };
      }
    }
  }
  const exports = body.some((statement) => statement.type.startsWith('Export'));
  const plain = body.filter((statement) => statement.type === 'ClassDeclaration');
  if (!exports && plain.length === 1) return { class: plain[0] as ClassDeclaration };
  return { error: 'the bot module has no default export class' };
}

/** `class X {}` or `const X = class {}` at the top level, with its name. */
function declaredClass(
  statement: Statement | ModuleDeclaration,
): { name: string; node: AnyClass } | null {
  const inner =
    statement.type === 'ExportNamedDeclaration' && statement.declaration
      ? statement.declaration
      : statement;
  if (inner.type === 'ClassDeclaration') return { name: inner.id.name, node: inner };
  if (inner.type === 'VariableDeclaration' && inner.kind === 'const') {
    for (const declarator of inner.declarations) {
      if (declarator.id.type === 'Identifier' && declarator.init?.type === 'ClassExpression') {
        return { name: declarator.id.name, node: declarator.init };
      }
    }
  }
  return null;
}

function keyName(key: Expression | Identifier | { type: string }): string | null {
  if (key.type === 'Identifier') return (key as Identifier).name;
  if (key.type === 'Literal' && typeof (key as { value: unknown }).value === 'string') {
    return (key as { value: string }).value;
  }
  return null;
}

/** The value of a literal expression; anything computed is refused with where it is. */
function literal(node: Expression, depth: number): unknown {
  if (depth > MAX_DEPTH) throw new Error('static manifest is nested too deeply');
  if (node.type === 'Literal') {
    const { value } = node;
    if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) return value;
  } else if (node.type === 'TemplateLiteral') {
    if (node.expressions.length === 0) return node.quasis[0]?.value.cooked ?? '';
  } else if (node.type === 'UnaryExpression') {
    const { argument } = node;
    if (
      node.operator === '-' &&
      argument.type === 'Literal' &&
      typeof argument.value === 'number'
    ) {
      return -argument.value;
    }
  } else if (node.type === 'ArrayExpression') {
    return node.elements.map((element) => {
      if (element === null || element.type === 'SpreadElement') throw notLiteral(node);
      return literal(element, depth + 1);
    });
  } else if (node.type === 'ObjectExpression') {
    return objectLiteral(node, depth);
  }
  throw notLiteral(node);
}

function notLiteral(node: { loc?: { start: { line: number; column: number } } | null }): Error {
  const at = node.loc ? ` (line ${node.loc.start.line}, column ${node.loc.start.column + 1})` : '';
  return new Error(
    `static manifest must be a literal: plain objects, arrays, strings, numbers, booleans and null, nothing computed${at}`,
  );
}

function objectLiteral(node: ObjectExpression, depth: number): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const property of node.properties) {
    if (property.type !== 'Property' || property.computed || property.kind !== 'init') {
      throw notLiteral(property);
    }
    if (property.method || property.shorthand) throw notLiteral(property);
    const key =
      property.key.type === 'Literal' && typeof property.key.value === 'number'
        ? String(property.key.value)
        : keyName(property.key);
    if (key === null) throw notLiteral(property);
    // Defined, not assigned: a "__proto__" key stays an ordinary key, as JSON.parse keeps it.
    Object.defineProperty(object, key, {
      value: literal(property.value, depth + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return object;
}
