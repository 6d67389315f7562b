"""``reprise audit``: the plan's promises measured now, one item at a time, against their
objectives (the seed's loadtest.sh done right). The use case wires the measurements; this
package holds the item model, the judges of each kind of item, the runner and the report."""
