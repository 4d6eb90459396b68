package cmd

// defaultToStdin makes standard input the input of a run given none, as
// `cat urls.txt | trawl fetch` expects; a terminal on stdin gets a hint
// instead of a run waiting for typing.
func (o *RunOptions) defaultToStdin() error {
	if len(o.Args) > 0 {
		return nil
	}
	if o.IO.StdinTTY {
		return usageError("no input: give URLs or files of URLs, or pipe them in (cat urls.txt | trawl fetch)")
	}
	o.Args = []string{"-"}
	return nil
}
