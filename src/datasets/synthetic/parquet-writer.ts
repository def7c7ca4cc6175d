/**
 * Writes parquet files shaped like a Hugging Face `datasets` export (the lmms-lab datasets): STRING columns,
 * INT64 columns, LIST<STRING> columns, and images as the `datasets` Image feature, a STRUCT `{bytes: BINARY,
 * path: STRING}`. Uses hyparquet-writer with an explicit schema, so the nesting is exactly that of the hub files.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';

export type ParquetColumn =
  | { name: string; kind: 'string'; data: readonly (string | null)[] }
  | { name: string; kind: 'int64'; data: readonly (number | null)[] }
  | { name: string; kind: 'strings'; data: readonly (readonly string[] | null)[] }
  | { name: string; kind: 'image'; data: readonly ({ bytes: Uint8Array; path: string | null } | null)[] };

type SchemaElement = Record<string, unknown>;

function schemaOf(c: ParquetColumn): SchemaElement[] {
  switch (c.kind) {
    case 'string':
      return [{ name: c.name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' }];
    case 'int64':
      return [{ name: c.name, type: 'INT64', repetition_type: 'OPTIONAL' }];
    case 'strings':
      return [
        { name: c.name, repetition_type: 'OPTIONAL', num_children: 1, converted_type: 'LIST' },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        { name: 'element', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      ];
    case 'image':
      return [
        { name: c.name, repetition_type: 'OPTIONAL', num_children: 2 },
        { name: 'bytes', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL' },
        { name: 'path', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      ];
  }
}

/** Writes one parquet file; every column must have the same number of rows. */
export async function writeParquet(
  file: string,
  columns: readonly ParquetColumn[],
  rowGroupSize = 64,
): Promise<void> {
  const n = columns[0]?.data.length ?? 0;
  for (const c of columns) {
    if (c.data.length !== n)
      throw new Error(`${file}: column "${c.name}" has ${c.data.length} rows, expected ${n}`);
  }
  const schema = [{ name: 'schema', num_children: columns.length }, ...columns.flatMap(schemaOf)];
  const buf = parquetWriteBuffer({
    columnData: columns.map((c) => ({
      name: c.name,
      data: c.kind === 'int64' ? c.data.map((v) => (v === null ? null : BigInt(v))) : [...c.data],
    })),
    schema: schema as never,
    rowGroupSize,
  });
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, new Uint8Array(buf));
}
