// Package agent implements the "agent" step kind: a chat model that calls tools until it
// has an answer.
//
// The step sends its prompt (system, then messages, then user: the task) and its tools to
// the model through the provider's native tool calling, runs every tool the model calls,
// sends the results back as tool turns, and repeats until the model answers without
// calling a tool. Each model call is a turn; every turn (model message, tool call with
// its arguments, tool result, tokens and cost) is recorded in the run store.
//
// # Tools
//
// tools: is a list. A tool has a name, a description and parameters (a JSON Schema of
// type object for its arguments; none means no arguments) and exactly one backing:
//
//	step: {uses: search, with: {index: "${ resources.kb }", text: "${ args.query }"}, result: "${ output.texts }"}
//	flow: ./tools/lookup.yaml        # arguments are the sub-flow's vars, its outputs the result
//	http: {method: GET, url: "https://api.example.com/v1/items/{{ args.id }}", allowed_hosts: [api.example.com]}
//
// or the entry is an MCP server whose tools (names, descriptions, input schemas) all
// become tools: {mcp: {command: [my-server, --stdio], env: {K: v}, include: [a, b]}}.
//
// Step templates are described in template.go: ${ … } sees args (the call's
// arguments), resources (references to the flow's resources) and, in result:, output.
// HTTP URLs take {{ args.x }} placeholders instead, percent-escaped, only after the host;
// the host must be in allowed_hosts, which is checked again for every connection and
// redirect.
//
// # Arguments and errors
//
// Arguments are validated against the tool's schema before it runs. Arguments that are
// not a JSON object, fail the schema or name no tool are returned to the model as a tool
// error, at most with.tool_retries times in all; a tool that fails returns its error to
// the model too. Neither crashes the step.
//
// # Limits
//
// with: max_turns (default 8), max_tokens (output tokens over all turns), budget_usd
// (model calls and step tools), parallel_tools (default true; at most MaxParallelTools at
// once, results in call order) and on_limit. Hitting a limit before the model answers
// fails the step with a *LimitError, unless on_limit is return: then the step succeeds
// with the last text and output.stopped naming the limit.
//
// With output.schema the provider is asked for JSON on every turn, and the final answer
// is validated; an invalid answer is sent back with the problem, at most MaxRepairs times.
//
// The step's usage is that of its model calls. Step and flow tools report their own
// usage to the run (Env.Invoke, Env.RunFlow), so it is not counted twice.
package agent
