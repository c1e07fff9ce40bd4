"""FlowUI's built-in node types.

They reach the editor and the runner the way a third party's do: through the
`flowui.nodes` entry point, which names `catalog`, a NodePack listing every type by
id so that a run imports only the modules of the types its workflow uses
(tests/nodes/test_catalog.py checks that the list and the classes agree).
"""

from __future__ import annotations

from engine import NodePack

catalog = NodePack(__name__, {
    "code.extract_functions": "code:ExtractFunctions",
    "code.complexity": "code:Complexity",
    "code.detect_issues": "code:DetectIssues",
    "code.suggest_improvements": "code:SuggestImprovements",
    "code.quality_score": "code:QualityScore",
    "control.if": "control:If",
    "control.merge": "control:Merge",
    "debug.log": "debug:Log",
    "debug.inspect": "debug:Inspect",
    "file.read": "files:Read",
    "file.write": "files:Write",
    "flow.constant": "flow:Constant",
    "flow.input": "flow:Input",
    "flow.output": "flow:Output",
    "http.request": "http:Request",
    "llm.chat": "llm:Chat",
    "control.for_each": "loops:ForEach",
    "control.loop": "loops:Loop",
    "flow.subworkflow": "subworkflow:SubWorkflow",
    "time.delay": "timing:Delay",
    "transform.json_parse": "transform:JsonParse",
    "transform.json_stringify": "transform:JsonStringify",
    "transform.template": "transform:Template",
    "transform.select": "transform:Select",
    "http.webhook": "triggers:Webhook",
    "http.respond": "triggers:Respond",
    "time.interval": "triggers:Interval",
    "queue.push": "queues:Push",
    "queue.trigger": "queues:Trigger",
})
