namespace Omnichannel.Sdk.Templates;

// Tags and blocks: openings, else branches, the block stack and its ends.
internal sealed partial class LiquidScanner
{
    private int Tag(int open, int start, int end, int next)
    {
        var s = _source;
        var k = SkipSpace(start, end);
        var nameStart = k;
        while (k < end && (char.IsLetterOrDigit(s[k]) || s[k] == '_'))
        {
            k++;
        }

        var name = s[nameStart..k];
        _tokens.Add(new LiquidToken(open, s[open..next], name.Length > 0 ? name : null));
        if (name.Length == 0)
        {
            Report(open, TemplateErrorKind.Syntax, nameStart >= end ? "Empty tag: '{% %}' needs a tag name." : "A tag name is expected after '{%'.");
            return next;
        }

        var markupStart = SkipSpace(k, end);
        var markup = s[markupStart..end].TrimEnd();
        var top = _blocks.Count > 0 ? _blocks[^1] : null;
        switch (name)
        {
            case "raw" or "comment":
                var endTag = EndTagPattern(name).Match(s, next);
                if (!endTag.Success)
                {
                    Report(open, TemplateErrorKind.UnclosedBlock, $"'{name}' is never closed: add '{{% end{name} %}}'.");
                    return s.Length;
                }

                return endTag.Index + endTag.Length;

            case "if" or "unless" or "case":
                RequireMarkup(open, name, markup, $"{{% {name} condition %}}");
                Expression(markupStart, end);
                Push(name, open);
                break;

            case "elsif" or "elseif":
                if (top?.Name is not ("if" or "unless"))
                {
                    Report(open, TemplateErrorKind.UnexpectedTag, $"'{name}' is only allowed inside 'if' or 'unless'.");
                }
                else
                {
                    AfterElse(top, open, name);
                }

                RequireMarkup(open, name, markup, $"{{% {name} condition %}}");
                Expression(markupStart, end);
                break;

            case "else":
                if (top?.Name is not ("if" or "unless" or "case"))
                {
                    Report(open, TemplateErrorKind.UnexpectedTag, top?.Name is "for" or "tablerow"
                        ? "'else' is not allowed inside a loop: test the collection with 'if' around the loop."
                        : "'else' is only allowed inside 'if', 'unless' or 'case'.");
                }
                else
                {
                    AfterElse(top, open, name);
                    top.ElseAt ??= open;
                }

                break;

            case "when":
                if (top?.Name != "case")
                {
                    Report(open, TemplateErrorKind.UnexpectedTag, "'when' is only allowed inside 'case'.");
                }
                else
                {
                    AfterElse(top, open, name);
                }

                RequireMarkup(open, name, markup, "{% when value %}");
                Expression(markupStart, end);
                break;

            case "for" or "tablerow":
                var loop = LoopSyntax().Match(s[markupStart..end]);
                if (!loop.Success)
                {
                    Report(open, TemplateErrorKind.Syntax, $"'{name}' needs the form '{{% {name} item in collection %}}'.");
                    Push(name, open);
                }
                else
                {
                    Expression(markupStart + loop.Groups[2].Index, end);
                    LoopArguments(name, markupStart + loop.Groups[2].Index, end);
                    Push(name, open, loop.Groups[1].Value, name == "for" ? "forloop" : "tablerowloop");
                }

                break;

            case "capture":
                var captured = markup.Trim('"', '\'');
                if (!VariableName().IsMatch(captured))
                {
                    Report(open, TemplateErrorKind.Syntax, "'capture' needs a variable name: '{% capture name %}'.");
                }

                _assigned.Add(captured);
                Push(name, open);
                break;

            case "ifchanged":
                Push(name, open);
                break;

            case "assign":
                var assign = AssignSyntax().Match(s[markupStart..end]);
                if (!assign.Success)
                {
                    Report(open, TemplateErrorKind.Syntax, "'assign' needs the form '{% assign name = value %}'.");
                }
                else
                {
                    Output(markupStart + assign.Groups[2].Index, end);
                    _assigned.Add(assign.Groups[1].Value);
                }

                break;

            case "increment" or "decrement":
                if (!VariableName().IsMatch(markup))
                {
                    Report(open, TemplateErrorKind.Syntax, $"'{name}' needs a variable name.");
                }

                _assigned.Add(markup);
                break;

            case "cycle":
                RequireMarkup(open, name, markup, "{% cycle 'a', 'b' %}");
                var referencesBefore = _references;
                Expression(markupStart, end);
                if (_mode != LiquidOutputMode.Text && _references > referencesBefore)
                {
                    // cycle prints its values itself, past the escaping filter.
                    Report(open, TemplateErrorKind.UnexpectedTag, $"In an {(_mode == LiquidOutputMode.Html ? "HTML part" : "JSON payload")} 'cycle' may only list quoted strings: its values are printed without encoding.");
                }
                break;

            case "break" or "continue":
                if (!_blocks.Exists(b => b.Name is "for" or "tablerow"))
                {
                    Report(open, TemplateErrorKind.UnexpectedTag, $"'{name}' is only allowed inside 'for' or 'tablerow'.");
                }

                break;

            default:
                if (UnsupportedTags.Contains(name))
                {
                    Report(open, TemplateErrorKind.UnknownTag, $"The '{name}' tag is not supported in message templates.");
                }
                else if (name.StartsWith("end", StringComparison.Ordinal) && (BlockTags.Contains(name[3..]) || name[3..] is "raw" or "comment"))
                {
                    End(open, name[3..]);
                }
                else
                {
                    Report(open, TemplateErrorKind.UnknownTag, $"Unknown tag '{name}'.");
                }

                break;
        }

        return next;
    }

    private void AfterElse(OpenBlock block, int index, string name)
    {
        if (block.ElseAt is { } elseAt)
        {
            Report(index, TemplateErrorKind.UnexpectedTag, $"'{name}' cannot follow the 'else' of this '{block.Name}' at {At(elseAt)}.");
        }
    }

    private void RequireMarkup(int open, string name, string markup, string form)
    {
        if (markup.Length == 0)
        {
            Report(open, TemplateErrorKind.Syntax, $"'{name}' needs an expression: '{form}'.");
        }
    }

    private void Push(string name, int index, params string[] locals)
    {
        if (_blocks.Count == MaxNesting)
        {
            Report(index, TemplateErrorKind.Syntax, $"Blocks are nested more than {MaxNesting} deep.");
        }

        _blocks.Add(new OpenBlock(name, index, locals));
    }

    private void End(int index, string name)
    {
        var at = _blocks.FindLastIndex(b => b.Name == name);
        if (at < 0)
        {
            var open = _blocks.Count > 0 ? _blocks[^1] : null;
            Report(
                index,
                TemplateErrorKind.UnexpectedTag,
                open is null
                    ? $"'end{name}' has no opening '{name}'."
                    : $"'end{name}' has no opening '{name}'; the open block is '{open.Name}' at {At(open.Index)}.");
            return;
        }

        // Blocks opened after the one being closed were never closed themselves.
        for (var b = _blocks.Count - 1; b > at; b--)
        {
            Report(_blocks[b].Index, TemplateErrorKind.UnclosedBlock, $"'{_blocks[b].Name}' is never closed before 'end{name}' at {At(index)}.");
        }

        _blocks.RemoveRange(at, _blocks.Count - at);
    }
}
