// Package billing is the heart of Truecost: FOCUS cost line items, money,
// ingestion runs, the Ingester that loads a source into a replaceable
// (connector, billing period) partition, and the cost report built from daily
// rollups. Its ports (Source, IngestStore, RollupReader) are implemented by
// the reading adapters (localfiles, the cloud connectors) and by sqlstore.
// File formats (CSV, gzip, timestamp spellings) are the adapters' business:
// see adapters/focusfile.
package billing
