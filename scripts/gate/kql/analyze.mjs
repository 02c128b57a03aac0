// Parses and semantically analyzes KQL queries with Microsoft's Kusto language library
// (npm @kusto/language-service-next, the JavaScript build of Kusto.Language:
// https://github.com/microsoft/Kusto-Query-Language) against the table schemas in a JSON file.
//
//   node scripts/gate/kql/analyze.mjs --schema policies/kql/tables.json < queries.json
//
// stdin:  [{"id": "...", "query": "..."}, ...]
// stdout: {"library": {...}, "database": {...}, "results": [{"id", "diagnostics": [...]}]}
//
// Each diagnostic: {severity, code, category, message, start, length, origin}. origin "kusto" is the
// library's own diagnostic (KustoCode.GetDiagnostics: syntax and semantic errors, unknown tables and
// columns, operators not defined for their operand types). origin "comparison" is this script's check
// for ==, !=, in and !in between values of different type families (a string column compared with
// numbers): the library binds those without any diagnostic, so the check reads the operand types the
// library inferred (Expression.ResultType) and reports the mismatch itself.
// Exit status: 0 analyzed (whatever the diagnostics), 2 unusable input or schema.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const PACKAGE = "@kusto/language-service-next";

function fail(message) {
  // One line: the gate quotes the last line of stderr.
  process.stderr.write(`analyze.mjs: ${String(message).split("\n")[0]}\n`);
  process.exit(2);
}

function loadLibrary() {
  let version;
  try {
    require(`${PACKAGE}/bridge.js`);
    require(`${PACKAGE}/Kusto.Language.Bridge.js`);
    version = JSON.parse(readFileSync(require.resolve(`${PACKAGE}/package.json`), "utf8")).version;
  } catch (error) {
    fail(`cannot load ${PACKAGE} (run \`make env\`): ${error.message}`);
  }
  const kusto = globalThis.Kusto?.Language;
  if (!kusto?.KustoCode?.ParseAndAnalyze) fail(`${PACKAGE} loaded without Kusto.Language`);
  return { kusto, version };
}

const SCALAR_TYPES = new Set(["bool", "datetime", "decimal", "dynamic", "guid", "int", "long", "real", "string", "timespan"]);
const COLUMN_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function buildDatabase(kusto, path) {
  let document;
  try {
    document = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    fail(`cannot read the schema file ${path}: ${error.message}`);
  }
  const tables = document?.tables;
  if (!tables || typeof tables !== "object" || Object.keys(tables).length === 0) fail(`${path}: no tables`);
  const symbols = [];
  for (const [name, table] of Object.entries(tables)) {
    const columns = Object.entries(table?.columns ?? {});
    if (!COLUMN_NAME.test(name) || columns.length === 0) fail(`${path}: table ${name} has no columns`);
    for (const [column, type] of columns) {
      if (!COLUMN_NAME.test(column) || !SCALAR_TYPES.has(type)) fail(`${path}: ${name}.${column}: unusable column or type '${type}'`);
    }
    const schema = `(${columns.map(([column, type]) => `${column}:${type}`).join(", ")})`;
    const symbol = new kusto.Symbols.TableSymbol.$ctor7(name, schema, null);
    if (symbol.Columns.Count !== columns.length) fail(`${path}: table ${name}: the library read ${symbol.Columns.Count} of ${columns.length} columns`);
    symbols.push(symbol);
  }
  const database = new kusto.Symbols.DatabaseSymbol.ctor("LogAnalytics", symbols);
  return { globals: kusto.GlobalState.Default.WithDatabase(database), tables: Object.keys(tables).length };
}

const NUMERIC = new Set(["int", "long", "real", "decimal"]);
const EQUALITY = new Set(["==", "!="]);
const MEMBERSHIP = new Set(["in", "!in"]);

function family(type) {
  const name = type?.Name;
  if (!name || name === "dynamic" || !SCALAR_TYPES.has(name)) return null; // unknown, error or dynamic: no claim
  return NUMERIC.has(name) ? "number" : name;
}

function comparisonDiagnostics(kusto, code) {
  const found = [];
  const mismatch = (operator, left, right, node) => {
    const [a, b] = [family(left.ResultType), family(right.ResultType)];
    if (a && b && a !== b) {
      found.push({
        severity: "Error",
        code: "KQL-TYPE",
        category: "Correctness",
        message: `The operator '${operator}' compares values of types ${left.ResultType.Name} and ${right.ResultType.Name}; compare values of one type (cast explicitly, e.g. tostring() or toint()).`,
        start: node.TextStart,
        length: node.Width,
        origin: "comparison",
      });
    }
  };
  code.Syntax.WalkElements((element) => {
    if (element instanceof kusto.Syntax.BinaryExpression && EQUALITY.has(element.Operator?.Text)) {
      mismatch(element.Operator.Text, element.Left, element.Right, element);
    } else if (element instanceof kusto.Syntax.InExpression && MEMBERSHIP.has(element.Operator?.Text)) {
      const list = element.Right?.Expressions;
      const before = found.length;
      for (let i = 0; list && i < list.Count && found.length === before; i++) {
        mismatch(element.Operator.Text, element.Left, list.getItem(i).Element, element);
      }
    }
  });
  return found;
}

function analyze(kusto, globals, query) {
  const code = kusto.KustoCode.ParseAndAnalyze(query, globals);
  const diagnostics = [];
  const list = code.GetDiagnostics();
  for (let i = 0; i < list.Count; i++) {
    const d = list.getItem(i);
    diagnostics.push({
      severity: String(d.Severity),
      code: d.Code,
      category: d.Category,
      message: d.Message,
      start: d.Start,
      length: d.Length,
      origin: "kusto",
    });
  }
  return diagnostics.concat(comparisonDiagnostics(kusto, code));
}

function main(argv) {
  const at = argv.indexOf("--schema");
  if (at < 0 || !argv[at + 1]) fail("usage: node scripts/gate/kql/analyze.mjs --schema TABLES.json < QUERIES.json");
  let queries;
  try {
    queries = JSON.parse(readFileSync(0, "utf8"));
  } catch (error) {
    fail(`stdin is not JSON: ${error.message}`);
  }
  if (!Array.isArray(queries) || !queries.every((q) => q && typeof q.id === "string" && typeof q.query === "string")) {
    fail('stdin must be a list of {"id": string, "query": string}');
  }
  const started = performance.now();
  const { kusto, version } = loadLibrary();
  const loaded = performance.now();
  const { globals, tables } = buildDatabase(kusto, argv[at + 1]);
  const results = queries.map(({ id, query }) => ({ id, diagnostics: analyze(kusto, globals, query) }));
  const document = {
    library: { name: PACKAGE, version },
    database: { tables },
    milliseconds: { load: Math.round(loaded - started), analyze: Math.round(performance.now() - loaded) },
    results,
  };
  process.stdout.write(`${JSON.stringify(document)}\n`);
}

main(process.argv.slice(2));
