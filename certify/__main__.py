from certify.cli import main

main()
