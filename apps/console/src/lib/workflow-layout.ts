import { Graph, layout } from '@dagrejs/dagre';

/** A node placed by the layout: its centre, in SVG user units. */
export interface PlacedNode {
  key: string;
  x: number;
  y: number;
}

/** An edge as the polyline the layout routed between its nodes. */
export interface PlacedEdge {
  from: string;
  to: string;
  points: { x: number; y: number }[];
}

export interface WorkflowLayout {
  width: number;
  height: number;
  nodes: PlacedNode[];
  edges: PlacedEdge[];
}

/** The box of one node; the page draws it at this size. */
export const NODE_WIDTH = 150;
export const NODE_HEIGHT = 46;
const MARGIN = 16;

/**
 * Places a workflow's nodes in layers (dependencies above their dependents) with dagre's layered
 * layout, and routes its edges. Positions only: the page draws the SVG itself, so colours and
 * links stay the console's own.
 */
export function layoutWorkflow(
  nodes: readonly { key: string }[],
  edges: readonly { from: string; to: string }[],
): WorkflowLayout {
  const graph = new Graph();
  graph.setGraph({ rankdir: 'TB', nodesep: 28, ranksep: 48, marginx: MARGIN, marginy: MARGIN });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const node of nodes) graph.setNode(node.key, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const edge of edges) graph.setEdge(edge.from, edge.to);
  layout(graph);
  const { width = 0, height = 0 } = graph.graph();
  return {
    width,
    height,
    nodes: nodes.map((node) => {
      const { x, y } = graph.node(node.key);
      return { key: node.key, x, y };
    }),
    edges: edges.map((edge) => ({ ...edge, points: graph.edge(edge.from, edge.to)?.points ?? [] })),
  };
}
