from persistence import new_process_form

new_process_form()
