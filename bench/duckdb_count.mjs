// DuckDB scanning the CSV on the fly: hourly counts of one customer, duplicates
// (same transaction id) counted once. Run by bench/run.sh from a scratch folder
// holding @duckdb/node-api. Prints the median in-process query time of N runs.
import { DuckDBInstance } from '@duckdb/node-api';
const [file, cust, from, to, runs] = process.argv.slice(2);
const inst = await DuckDBInstance.create(':memory:');
const con = await inst.connect();
const sql = `SELECT date_trunc('hour', ts) AS h, count(*) AS n FROM (
  SELECT transaction_id, min(ts) AS ts FROM read_csv('${file}', header=false,
    columns={'customer_id':'VARCHAR','event_type':'VARCHAR','transaction_id':'VARCHAR','ts':'TIMESTAMPTZ'})
  WHERE customer_id = '${cust}' GROUP BY transaction_id) s
  WHERE ts >= '${from}'::TIMESTAMPTZ AND ts < '${to}'::TIMESTAMPTZ GROUP BY 1 ORDER BY 1`;
const times = [];
let rows = 0, total = 0;
for (let i = 0; i < Number(runs || 3); i++) {
  const t0 = process.hrtime.bigint();
  const r = await con.runAndReadAll(sql);
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  rows = r.getRows().length; total = r.getRows().reduce((a, x) => a + Number(x[1]), 0);
}
times.sort((a, b) => a - b);
console.log(JSON.stringify({ median_ms: times[Math.floor(times.length / 2)], hours: rows, total }));
