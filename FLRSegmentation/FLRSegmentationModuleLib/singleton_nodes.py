"""The module's one-per-scene MRML nodes (results table, chart view): found by their singleton tag, made on first use,
so a reloaded scene or a second widget reuses them instead of piling up copies."""


def singleton_node(scene, tag: str, class_name: str, name: str):
    node = scene.GetSingletonNode(tag, class_name)
    if node is None:
        node = scene.CreateNodeByClass(class_name)
        node.SetSingletonTag(tag)
        node.SetName(name)
        node = scene.AddNode(node)
    return node
