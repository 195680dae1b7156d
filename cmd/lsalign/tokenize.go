package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/lsalign/lsalign/load"
)

type tokenizeOpts struct {
	tokenizer string
	ids       bool
	special   bool
}

func newTokenizeCmd() *cobra.Command {
	var o tokenizeOpts
	cmd := &cobra.Command{
		Use:   "tokenize --tokenizer FILE [--ids] < text",
		Short: "Tokenize standard input: token ids, or the pieces",
		Long: `tokenize reads all of standard input, exactly as given (a trailing newline is text
too), and tokenizes it with the tokenizer of FILE: a GGUF file (a model or one of
llama.cpp's vocabulary files), a llama2.c tokenizer.bin, a Hugging Face tokenizer.json, or
a model directory or file that brings one.

With --ids it prints the token ids on one line, separated by spaces, and nothing else;
otherwise one token per line: its id and its piece as a quoted string. Special tokens (BOS)
are added only with --add-special, as llama.cpp's tokenizer tests do.`,
		Example: `  echo -n "Hello world" | lsalign tokenize --tokenizer ggml-vocab-llama-spm.gguf --ids
  lsalign tokenize --tokenizer tok512.bin < story.txt`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTokenize(cmd.InOrStdin(), cmd.OutOrStdout(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.tokenizer, "tokenizer", "", "tokenizer file or model (required)")
	f.BoolVar(&o.ids, "ids", false, "print only the ids, space-separated on one line")
	f.BoolVar(&o.special, "add-special", false, "add BOS/EOS as the vocabulary says")
	return cmd
}

func runTokenize(r io.Reader, w io.Writer, o tokenizeOpts) error {
	if o.tokenizer == "" {
		return usagef("--tokenizer FILE is required")
	}
	tok, err := load.LoadTokenizer(o.tokenizer)
	if err != nil {
		return err
	}
	text, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("reading standard input: %w", err)
	}
	ids, err := tok.Encode(string(text), o.special)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	if o.ids {
		for i, id := range ids {
			if i > 0 {
				bw.WriteByte(' ')
			}
			bw.WriteString(strconv.Itoa(int(id)))
		}
		bw.WriteByte('\n')
		return bw.Flush()
	}
	prev := int32(-1)
	for _, id := range ids {
		fmt.Fprintf(bw, "%d\t%s\n", id, strconv.Quote(string(tok.Piece(prev, id))))
		prev = id
	}
	return bw.Flush()
}
