# The --help text as help2man reads it (cmake/docs.cmake pipes `scli ... --help`
# through this): help2man takes a synopsis from a GNU-style "Usage:" line, one
# line per form, so the wrapped "usage:" lines are joined into one (groff wraps
# it again), and the pointer to the manual is dropped from the manual itself.
/^usage: /{
	s//Usage: /
	:more
	$b
	N
	s/\n  *\[/ [/
	t more
	P
	D
}
/^Full manual: /d
